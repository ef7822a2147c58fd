"""One run of a sweep: train at one (lr, seed), measure curvature and noisy performance, record it.

:func:`execute` is the unit every executor runs. It writes ``runs/<run_id>/model.pt`` and then,
last and atomically, ``run.json``; a run folder without ``run.json`` is unfinished and is redone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import Tensor

from empirical import curvature
from empirical.experiment import control_variate, data, evaluate, models, noise, pcm, per_layer
from empirical.sweep import store
from empirical.sweep.config import SweepConfig
from empirical.sweep.schema import TIMED_PARTS
from empirical.timing import Stopwatch
from empirical.experiment.train import COLLAPSE_MARGIN, TrainResult, label_entropy, train
from theory import predict, predict_mean


def load_split(config: SweepConfig, split: str) -> tuple[Tensor, Tensor]:
    """The config's data split (x float32, y int64) on the CPU."""
    return data.load(config.dataset, split, config.data_root, **config.dataset_options)


def curvature_subset(x: Tensor, y: Tensor, size: int | None, seed: int) -> tuple[Tensor, Tensor]:
    """A fixed random subset of ``size`` samples (the whole split if ``size`` is None or larger)."""
    if size is None or size >= len(y):
        return x, y
    idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:size]
    return x[idx], y[idx]


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def execute(config: SweepConfig, lr: float, seed: int, out: Path, device: str = "cpu") -> dict[str, Any]:
    """Train, measure and record one run under ``out/runs/<run_id>/``; returns its ``run.json``.

    On the CPU the run uses ``config.cpu_threads`` torch threads, whatever the executor.
    """
    with torch_threads(config.cpu_threads):
        return _execute(config, lr, seed, out, device)


def _execute(config: SweepConfig, lr: float, seed: int, out: Path, device: str) -> dict[str, Any]:
    run_id = config.run_id(lr, seed)
    run_dir = out / "runs" / run_id
    if run_dir.exists():
        store.remove_temporaries(run_dir)  # left by an earlier attempt that was killed
    watch = Stopwatch(device)
    with watch("data"):
        x_train, y_train = load_split(config, "train")
        x_test, y_test = load_split(config, "test")
        num_classes = data.NUM_CLASSES[config.dataset]
        model = models.build(
            config.model, tuple(x_train.shape[1:]), num_classes, activation=config.activation, seed=seed
        ).to(device)
        xtr, ytr, xte, yte = (t.to(device) for t in (x_train, y_train, x_test, y_test))
    with watch("train"):
        fit = train_model(model, config, lr, seed, xtr, ytr)
        store.save_model(run_dir / "model.pt", model)
    with watch("clean"):
        train_loss, train_acc = evaluate.loss_and_accuracy(model, xtr, ytr, config.eval_batch_size)
        test_loss, test_acc = evaluate.loss_and_accuracy(model, xte, yte, config.eval_batch_size)
    failure = failure_of(fit, train_loss, test_loss, y_train)
    status = "ok" if failure is None else "diverged"

    names = noise.targets(model, config.noise_scope)
    metrics: dict[str, Any] = {
        "run_id": run_id, "lr": lr, "seed": seed, "status": status, "failure": failure, "epochs": fit.epochs,
        "train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss, "test_acc": test_acc,
        "stability_bound": float(predict.stability_bound(lr, config.momentum)),
        "weight_norm": math.sqrt(sum(float(p.detach().pow(2).sum()) for n, p in model.named_parameters() if n in names)),
    }  # fmt: skip
    noise_rows: list[dict[str, Any]] = [{"noise_level": level} for level in config.noise_levels] + [
        {"noise_level": level, "noise_model": name} for name, levels in config.extra_noise_models.items() for level in levels
    ]
    layer_rows: list[dict[str, Any]] = []
    curvature_details: dict[str, Any] = {}
    if status == "ok":
        measure = measure_pcm if config.noise_model == "pcm" else measure_gaussian
        curvature_details, noise_rows, layer_rows = measure(model, config, seed, names, x_train, y_train, xte, yte,
                                                            device, watch)  # fmt: skip
        metrics.update(curvature_details.pop("metrics"))
    for row in noise_rows + layer_rows:
        row.update(run_id=run_id, lr=lr, seed=seed, noise_model=row.get("noise_model", config.noise_model))
    metrics.update({f"{part}_seconds": watch.seconds.get(part) for part in TIMED_PARTS})
    metrics["run_seconds"] = sum(watch.seconds.values())

    record = {
        "run_id": run_id,
        "status": status,
        "lr": lr,
        "seed": seed,
        "config": config.to_dict(),
        "noise_targets": names,
        "input_shape": list(x_train.shape[1:]),
        "num_classes": num_classes,
        "device": device,
        "metrics": metrics,
        "noise": noise_rows,
        "layers": layer_rows,
        "curvature": curvature_details,
        "train": {"epoch_losses": list(fit.epoch_losses)},
    }
    store.write_json(run_dir / "run.json", record)
    return record




Measured = tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]


def measure_gaussian(
    model: torch.nn.Module, config: SweepConfig, seed: int, names: list[str], x_train: Tensor, y_train: Tensor,
    x_test: Tensor, y_test: Tensor, device: str, watch: Stopwatch,
) -> Measured:
    """A trained run under a Gaussian noise model: curvature (with ``metrics``), the kink term and the Monte
    Carlo of the sweep's model, the per-layer sensitivity (seeds of ``layer_seeds``) and the extra noise
    models; returns (curvature details, noise.csv rows, layers.csv rows)."""
    scales = noise.scale(model, config.noise_model, names)
    extra_scales = {name: noise.scale(model, name, names) for name in config.extra_noise_models}
    details = measure_curvature(model, config, scales, x_train, y_train, x_test, y_test, device, watch, extra_scales)
    layers = list(scales) if seed in config.layer_seeds and config.layer_levels else []
    with watch("kink"):
        kinks = kink_terms(model, config, scales, x_test, y_test, extra_scales, layers)
    details["kink_test"] = {"probes": kinks.main.probes, "seconds": kinks.main.seconds}
    with watch("control"):
        control = noise_control(model, config, scales, x_test, y_test, config.samples)
    details["control_test"] = control_details(control)
    with watch("noise"):
        levels = evaluate.monte_carlo(
            model, x_test, y_test, scales, config.noise_levels, config.samples, config.noise_seed,
            config.eval_batch_size, blocks=config.noise_blocks, control=control,
        )  # fmt: skip
    trace = (details["metrics"]["noise_trace_test"], details["metrics"]["noise_trace_test_se"])
    rows = [noise_row(lv, *trace, v, se) for lv, v, se in zip(levels, kinks.main.values, kinks.main.ses, strict=True)]
    layer_rows: list[dict[str, Any]] = []
    if layers:
        with watch("layers"):
            layer_rows = per_layer.layer_rows(
                model, x_test, y_test, scales, config.layer_levels, kinks.layers, samples=config.layer_samples,
                noise_seed=config.noise_seed, blocks=config.noise_blocks, batch_size=config.eval_batch_size,
                rel_se=config.trace_rel_se, max_matvecs=config.trace_max_matvecs,
                generator=theory_generator(config, LAYER_STREAM),
            )  # fmt: skip
    for name, extra_levels in config.extra_noise_models.items():
        extra_trace = details[f"noise_trace_test_{name}"]
        with watch("extra_noise_models"):
            extra = extra_noise_rows(model, config, extra_scales[name], extra_levels, x_test, y_test,
                                     (extra_trace["value"], extra_trace["se"]), kinks.extra[name])  # fmt: skip
        rows += [{**row, "noise_model": name} for row in extra]
    return details, rows, layer_rows


def measure_pcm(
    model: torch.nn.Module, config: SweepConfig, seed: int, names: list[str], x_train: Tensor, y_train: Tensor,
    x_test: Tensor, y_test: Tensor, device: str, watch: Stopwatch,
) -> Measured:
    """A trained run under the pcm noise model: tr(H) and λ_max (with ``metrics``), the mean terms and
    tr(HΣ(t)) per inference time, and the Monte Carlo; returns (curvature details, noise.csv rows, no
    layers.csv rows). ``seed`` is unused: pcm measures no per-layer sensitivity."""
    details = measure_curvature(model, config, None, x_train, y_train, x_test, y_test, device, watch)
    with watch("mean_terms"):
        terms = pcm_terms(model, config, names, x_test, y_test)
    tiles = pcm.Tiles({name: p.shape for name, p in model.named_parameters() if name in names}, config.pcm_g_max)
    with watch("noise"):
        levels = evaluate.monte_carlo(
            model, x_test, y_test, tiles, config.noise_levels, config.samples, config.noise_seed,
            config.eval_batch_size, blocks=config.noise_blocks,
        )  # fmt: skip
    return details, [pcm_row(level, *term) for level, term in zip(levels, terms, strict=True)], []


# The theory checks' budget per run: FOURTH_ORDER_DRAWS directions, each on a fresh random
# FOURTH_ORDER_SUBSET of the test split (~0.7–1 s on one CPU core for the MNIST-1D CNN), and
# VARIANCE_PROBES Hessian-vector products for tr((HΣ₁)²).
FOURTH_ORDER_DRAWS = 6
FOURTH_ORDER_SUBSET = 250
# Samples per call of the fourth order's batched draws (its memory): measured on the default preset's CNN
# (6 draws of 250, one process): 1.8 s and +121 MB at 500, against 1.3 s and +229 MB at 1,500 (all draws at
# once) and 2.6 s and +87 MB at 250; the draws one at a time took 2.25 s. Measured again with the preset at
# 1.1 GiB peak (1 thread, peak RSS growth, 2 repeats): 1.9 s and +64 MB at 500, 1.0–1.2 s and +164 MB at 1,500.
# The paper preset's batch is its eval_batch_size, 1,000 (500 before); its memory there is not measured.
FOURTH_ORDER_BATCH = 1500
VARIANCE_PROBES = 10
KINK_STREAM = 5  # theory_generator stream of the kink term's probes (4: fourth order, 2: tr((HΣ₁)²))
LAYER_STREAM = 6  # theory_generator stream of the per-layer traces and kink terms
CONTROL_STREAM = 7  # theory_generator stream of the control variate's Lanczos start vector


def failure_of(fit: TrainResult, train_loss: float, test_loss: float, y_train: Tensor) -> str | None:
    """Why a run counts as diverged, or None if it trained.

    ``nonfinite``, ``exploded`` or a frozen network's ``collapsed`` come from training; otherwise
    ``collapsed``: the final train loss is within ``COLLAPSE_MARGIN`` of the best constant predictor's,
    a dead network (its trivial robustness to noise would otherwise count as a result).
    """
    if fit.failure is not None:
        return fit.failure
    if not (math.isfinite(train_loss) and math.isfinite(test_loss)):
        return "nonfinite"
    if train_loss >= label_entropy(y_train) - COLLAPSE_MARGIN:
        return "collapsed"
    return None


def train_model(model: torch.nn.Module, config: SweepConfig, lr: float, seed: int, x: Tensor, y: Tensor) -> TrainResult:
    """Train with the config's optimiser settings (augmentation only where the config asks for it)."""
    return train(
        model, x, y, lr=lr, momentum=config.momentum, weight_decay=config.weight_decay, epochs=config.epochs,
        batch_size=config.batch_size, seed=seed, divergence_factor=config.divergence_factor,
        augment=data.augment if config.augment else None,
    )  # fmt: skip


def measure_curvature(
    model: torch.nn.Module,
    config: SweepConfig,
    scales: dict[str, Tensor] | None,
    x_train: Tensor,
    y_train: Tensor,
    x_test: Tensor,
    y_test: Tensor,
    device: str,
    watch: Stopwatch,
    extra_scales: dict[str, dict[str, Tensor]] | None = None,
) -> dict[str, Any]:
    """tr(H) on train subset and test split, tr(HΣ₁) on test, λ_max on the train subset, with errors, and
    the theory terms (:func:`theory_terms`); ``watch`` times the parts ``trace``, ``lambda_max``,
    ``fourth_order`` and ``variance_terms``. Without ``scales`` (a noise model with no Σ₁, pcm): tr(H)
    and λ_max only. The test traces come from one ``curvature.hessian_traces`` call, which also gives
    tr(HΣ₁) of each of ``extra_scales`` (noise model -> its Σ₁^½): details ``noise_trace_test_<model>``
    with their ``value`` and ``se``."""
    xs, ys = (t.to(device) for t in curvature_subset(x_train, y_train, config.curvature_samples, config.curvature_seed))

    def generator() -> torch.Generator:  # same probes for every run (common random numbers)
        return torch.Generator().manual_seed(config.curvature_seed)

    options = dict(rel_se=config.trace_rel_se, max_matvecs=config.trace_max_matvecs, batch_size=config.eval_batch_size)
    test: dict[str, dict[str, Tensor] | None] = {"hessian_trace_test": None}
    if scales is not None:
        test["noise_trace_test"] = scales
        test.update({f"noise_trace_test_{name}": s for name, s in (extra_scales or {}).items()})
    with watch("trace"):
        estimates = {"hessian_trace_train": curvature.hessian_trace(model, xs, ys, generator=generator(), **options)}
        traces = curvature.hessian_traces(model, x_test, y_test, scales=list(test.values()), generator=generator(),
                                          **options)  # fmt: skip
        estimates.update(zip(test, traces))
    with watch("lambda_max"):
        top = curvature.top_eigenvalues(model, xs, ys, k=1, batch_size=config.eval_batch_size, generator=generator())
    columns = [name for name in estimates if name in ("hessian_trace_train", "hessian_trace_test", "noise_trace_test")]
    metrics = {name: estimates[name].value for name in columns}
    metrics.update({f"{name}_se": estimates[name].se for name in columns})
    metrics.update(lambda_max_train=top.values[0], lambda_max_residual=top.residuals[0])
    details = {
        name: {"matvecs": e.matvecs, "seconds": e.seconds, "gauss_newton": e.gauss_newton, "gn_passes": e.gn_passes,
               **({} if name in columns else {"value": e.value, "se": e.se})}
        for name, e in estimates.items()
    }  # fmt: skip
    details["lambda_max_train"] = {"matvecs": top.matvecs, "seconds": top.seconds}
    if scales is not None:
        metrics.update(theory_terms(model, config, scales, x_test, y_test, details, watch))
    return {"metrics": metrics, **details}


def theory_terms(
    model: torch.nn.Module,
    config: SweepConfig,
    scales: dict[str, Tensor],
    x: Tensor,
    y: Tensor,
    details: dict[str, Any],
    watch: Stopwatch,
) -> dict[str, Any]:
    """The verification's other inputs on the test split: E_v[D⁴L[v⁴]] (v ~ N(0, Σ₁)), gᵀΣ₁g, tr((HΣ₁)²).

    Own generators (:func:`theory_generator`); budgets ``FOURTH_ORDER_DRAWS × FOURTH_ORDER_SUBSET`` and
    ``VARIANCE_PROBES``; ``watch`` times ``fourth_order`` and ``variance_terms``.
    """
    with watch("fourth_order"):
        m4 = curvature.split_fourth_moment(
            model, x, y, scales, draws=FOURTH_ORDER_DRAWS, subset=FOURTH_ORDER_SUBSET,
            batch_size=min(config.eval_batch_size, FOURTH_ORDER_BATCH), generator=theory_generator(config, 4),
        )  # fmt: skip
    with watch("variance_terms"):
        gsg = curvature.grad_cov_grad(model, x, y, scales, batch_size=config.eval_batch_size)
        hs2 = curvature.hsigma_sq_trace(
            model, x, y, scales, probes=VARIANCE_PROBES, batch_size=config.eval_batch_size,
            generator=theory_generator(config, 2),
        )  # fmt: skip
    details["fourth_moment_test"] = {"draws": m4.draws, "subset": m4.subset, "seconds": m4.seconds,
                                     "second_moment": m4.second, "second_moment_se": m4.second_se}  # fmt: skip
    details["hsigma_sq_trace_test"] = {"matvecs": hs2.probes, "seconds": hs2.seconds}
    return {
        "fourth_moment_test": m4.value, "fourth_moment_test_se": m4.se, "fourth_moment_draws": m4.draws,
        "grad_cov_grad_test": gsg, "hsigma_sq_trace_test": hs2.value, "hsigma_sq_trace_test_se": hs2.se,
    }  # fmt: skip


def theory_generator(config: SweepConfig, stream: int) -> torch.Generator:
    """The generator of one theory term: the same for every run (common random numbers), a stream of its
    own, independent of the trace probes (seeded by ``curvature_seed`` alone) and of the noise draws."""
    return torch.Generator().manual_seed(config.curvature_seed * 1000 + stream)


@dataclass(frozen=True)
class KinkTerms:
    """A run's kink terms on the test split: its noise model's at ``noise_levels`` (``main``), each extra
    noise model's at its levels, and each noisy parameter's alone at ``layer_levels`` (``layers``)."""

    main: curvature.KinkEstimate
    extra: dict[str, curvature.KinkEstimate]
    layers: dict[str, curvature.KinkEstimate]


def kink_terms(
    model: torch.nn.Module, config: SweepConfig, scales: dict[str, Tensor], x: Tensor, y: Tensor,
    extra_scales: dict[str, dict[str, Tensor]] | None = None, layers: Sequence[str] = (),
) -> KinkTerms:  # fmt: skip
    """kink(η) (exactly 0 for smooth activations) with standard errors, for the sweep's noise model
    (Σ₁^½ ``scales``), the extra models of ``extra_scales`` and each parameter of ``layers`` alone, in
    one ``curvature.kink_terms`` call (shared clean passes and first-layer gradients); probes and batches as its
    defaults."""
    extra_scales = extra_scales or {}
    alone = [{name: scales[name]} for name in layers]
    levels = [config.noise_levels, *(config.extra_noise_models[n] for n in extra_scales)]
    levels += [config.layer_levels] * len(alone)
    found = curvature.kink_terms(model, x, y, [scales, *extra_scales.values(), *alone], levels,
                                 generator=theory_generator(config, KINK_STREAM))  # fmt: skip
    extra = dict(zip(extra_scales, found[1 : 1 + len(extra_scales)], strict=True))
    return KinkTerms(found[0], extra, dict(zip(layers, found[1 + len(extra_scales) :], strict=True)))


def noise_control(
    model: torch.nn.Module, config: SweepConfig, scales: dict[str, Tensor], x: Tensor, y: Tensor, samples: int
) -> control_variate.QuadraticControl | None:
    """The control variate of a Monte Carlo of ``samples`` passes for Σ₁^½ ``scales`` (``config.control_directions``
    directions on the test split); None for 0 directions, fewer than ``control_variate.MIN_PAIRS`` pairs (it would
    not be used) or when Lanczos does not converge."""
    if samples // 2 < control_variate.MIN_PAIRS:
        return None
    return control_variate.build(model, x, y, scales, config.control_directions, batch_size=config.eval_batch_size,
                                 generator=theory_generator(config, CONTROL_STREAM))  # fmt: skip


def control_details(control: control_variate.QuadraticControl | None) -> dict[str, Any]:
    """What run.json records of a control variate: its directions' eigenvalues, products and seconds."""
    if control is None:
        return {"directions": 0}
    return {"directions": len(control.values), "eigenvalues": control.values.tolist(), "matvecs": control.matvecs,
            "seconds": control.seconds}  # fmt: skip


def noise_row(
    level: evaluate.NoisyEvaluation, noise_trace: float, noise_trace_se: float, kink: float, kink_se: float
) -> dict[str, Any]:
    """One level's row of ``noise.csv`` with the predictions from tr(HΣ₁) and the level's kink term ± SE,
    plus ``pair_increase``: the d_k of every antithetic pair in draw order, kept in ``run.json`` for
    pooling runs draw by draw."""
    eta = level.noise_level
    return {
        **level.row(),
        "noise_trace": noise_trace,
        "noise_trace_se": noise_trace_se,
        "predicted_delta_loss": float(predict.delta_loss_second_order(eta, noise_trace)),
        "predicted_delta_loss_se": float(predict.delta_loss_second_order(eta, noise_trace_se)),
        "mean_delta_loss": 0.0,
        "kink_delta_loss": kink,
        "kink_delta_loss_se": kink_se,
        "predicted_delta_loss_kink": float(predict.delta_loss_with_kinks(eta, noise_trace, kink)),
        "pair_increase": level.pair_increase.tolist(),
    }


def pcm_terms(
    model: torch.nn.Module, config: SweepConfig, names: list[str], x: Tensor, y: Tensor
) -> list[tuple[float, float, float, float]]:
    """Per inference time t of ``config.noise_levels``: (gᵀμ, μᵀHμ, tr(HΣ(t)), its SE) on the test split.

    μ(t), Σ(t) = diag σ²(t): the pcm model's per-weight moments (``empirical.experiment.pcm.moments``);
    tr(HΣ(t)) with the trace probes of the other traces (common random numbers).
    """
    params = dict(model.named_parameters())
    terms = []
    for t in config.noise_levels:
        moments = {name: pcm.moments(params[name].detach(), t, config.pcm_g_max) for name in names}
        mean = {name: mu.to(params[name].dtype) for name, (mu, _) in moments.items()}
        std = {name: var.clamp(min=0).sqrt().to(params[name].dtype) for name, (_, var) in moments.items()}
        g_mu, mu_h_mu = curvature.mean_terms(model, x, y, mean, batch_size=config.eval_batch_size)
        trace = curvature.hessian_trace(
            model, x, y, scale=std, rel_se=config.trace_rel_se, max_matvecs=config.trace_max_matvecs,
            batch_size=config.eval_batch_size, generator=torch.Generator().manual_seed(config.curvature_seed),
        )  # fmt: skip
        terms.append((g_mu, mu_h_mu, trace.value, trace.se))
    return terms


def pcm_row(level: evaluate.NoisyEvaluation, g_mu: float, mu_h_mu: float, trace: float, trace_se: float) -> dict[str, Any]:
    """One inference time's row of ``noise.csv``: the measurement, gᵀμ + ½μᵀHμ + ½tr(HΣ(t)) and its mean
    part, and the per-pair increases (see :func:`noise_row`)."""
    return {
        **level.row(),
        "inference_seconds": level.noise_level,
        "noise_trace": trace,
        "noise_trace_se": trace_se,
        "predicted_delta_loss": float(predict_mean.delta_loss_with_mean(g_mu, mu_h_mu, trace)),
        "predicted_delta_loss_se": 0.5 * trace_se,
        "mean_delta_loss": g_mu + 0.5 * mu_h_mu,
        "pair_increase": level.pair_increase.tolist(),
    }


def extra_noise_rows(
    model: torch.nn.Module, config: SweepConfig, scales: dict[str, Tensor], levels: tuple[float, ...], x: Tensor,
    y: Tensor, trace: tuple[float, float], kinks: curvature.KinkEstimate,
) -> list[dict[str, Any]]:
    """The noise.csv rows of another Gaussian noise model (Σ₁^½ ``scales``) at its ``levels`` on the test split:
    its tr(HΣ₁) and SE (``trace``, from :func:`measure_curvature`), kink term (``kinks``, from
    :func:`kink_terms`) and Monte Carlo (``extra_noise_samples`` passes, the run's blocks and draws, its own
    control variate)."""
    samples = config.extra_noise_samples or config.samples
    measured = evaluate.monte_carlo(
        model, x, y, scales, levels, samples, config.noise_seed, config.eval_batch_size, blocks=config.noise_blocks,
        control=noise_control(model, config, scales, x, y, samples),
    )  # fmt: skip
    return [noise_row(m, *trace, k, k_se) for m, k, k_se in zip(measured, kinks.values, kinks.ses, strict=True)]
