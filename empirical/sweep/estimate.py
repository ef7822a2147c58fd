"""``--estimate``: the cost of one run and of the sweep, from timed slices of the run's own code.

Costs do not depend on the data's values, so the slices run on random inputs of the dataset's
shape (no data folder needed), on the device, under the run's torch threads, each after an untimed
warm-up call (one-off set-up that a sweep pays once per process); slices shorter than
``MIN_SECONDS`` are repeated and averaged. Every phase of
:func:`empirical.experiment.run.execute` is timed with the function the run calls and scaled by
how much more the run does:

- training: ``steps`` SGD steps of ``train_model`` × the run's steps (epochs × batches);
- curvature: ``measure_curvature`` on slices of at most ``slice_size`` samples per split, chunked
  like the run's splits; each measurement × its split's size over its slice's (traces on the
  curvature subset and the test split, λ_max on the subset, variance terms on the test split);
  the fourth-order term runs on the run's own subset size and draws; the kink terms (``kink_terms``,
  the extra noise models' included) on the test slice × the test split's size over the slice's;
- noise: ``monte_carlo`` at one level and one antithetic pair over one evaluation batch (three
  passes) × the run's passes (1 + samples × levels, the extra noise models' levels included) and
  batches. The per-layer sensitivity, the control variate's Lanczos and the pcm mean terms are not
  timed; the report names them when the config has them.

What the trained network decides is reported as such. A trace whose residual H − G is certified
zero (piecewise-linear activations) costs the same on every network. Otherwise its adaptive
estimate stops between its first check and its product budget, so the curvature is a range, with
products priced at Lanczos's time per product on the same slice. λ_max takes as many Lanczos
products as on the slice's untrained network (MNIST-1D CNN: 12–27 untrained, 12–22 trained).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from empirical import curvature
from empirical.experiment import control_variate, data, evaluate, models, noise, run
from empirical.sweep.config import ConfigError, SweepConfig
from empirical.timing import Stopwatch, timed

# Input shape per dataset; (train, test) sizes where fixed (MNIST-1D's follow its options).
_SHAPES = {"mnist1d": (1, 40), "cifar10": (3, 32, 32), "mnist": (1, 28, 28)}
_SIZES = {"cifar10": (50000, 10000), "mnist": (60000, 10000)}
# Samples per split of the timed curvature slice: large enough that per-call overheads scale away
# (MNIST-1D CNN, one CPU thread: a 512-sample slice scaled to 2,000 samples is within 1.4× of the
# time measured on 2,000), small enough for large models.
CURVATURE_SLICE = 512
TRAIN_STEPS = 10
MIN_SECONDS = 0.5  # short slices (training steps, noise passes) are repeated for at least this long
_FIRST_CHECK = 1e30  # rel_se that stops a trace at its first check (its fewest products)


@dataclass(frozen=True)
class Estimate:
    """Seconds of one run by phase, named as the run's ``<phase>_seconds`` in ``run.json``.

    ``curvature`` (three traces and λ_max) has the traces at their fewest products and
    ``curvature_max`` at their budget; they are equal when the traces are certified exact.
    ``trace_products``: products per trace, fewest and most.
    """

    train: float
    curvature: float
    curvature_max: float
    fourth_order: float
    variance_terms: float
    kink: float
    noise: float
    trace_products: tuple[int, int]

    @property
    def per_run(self) -> float:
        return self.train + self.curvature + self.fourth_order + self.variance_terms + self.kink + self.noise

    @property
    def per_run_max(self) -> float:
        return self.per_run - self.curvature + self.curvature_max


def split_sizes(config: SweepConfig) -> tuple[int, int]:
    """(train, test) sample counts of the config's dataset."""
    if config.dataset == "mnist1d":
        options = {**data.MNIST1D_DEFAULTS, **config.dataset_options}
        train = int(options["num_samples"] * options["train_split"])
        sizes = (train, options["num_samples"] - train)
    else:
        sizes = _SIZES[config.dataset]
    limit = config.dataset_options.get("limit")
    return sizes if limit is None else (min(sizes[0], limit), min(sizes[1], limit))


def measure(
    config: SweepConfig, device: str, steps: int = TRAIN_STEPS, slice_size: int = CURVATURE_SLICE
) -> Estimate:
    """Time slices of each phase of one run on ``device`` and scale them to the whole run.

    Runs with the run's ``cpu_threads`` torch threads, as :func:`empirical.experiment.run.execute` does.
    """
    if config.noise_model == "pcm":
        raise ConfigError("--estimate does not time the pcm noise model yet; run one learning rate and seed "
                          "(--lrs, --seeds) to see its per-part times")  # fmt: skip
    with run.torch_threads(config.cpu_threads):
        generator = torch.Generator().manual_seed(0)
        classes = data.NUM_CLASSES[config.dataset]
        model = models.build(config.model, _SHAPES[config.dataset], classes, activation=config.activation, seed=0)
        model.to(device)
        train = _train(model, config, steps, generator, device)
        names = noise.targets(model, config.noise_scope)
        scales = noise.scale(model, config.noise_model, names)
        extra = {name: noise.scale(model, name, names) for name in config.extra_noise_models}
        return Estimate(train=train, **_curvature(model, config, scales, extra, slice_size, generator, device),
                        noise=_noise(model, config, scales, generator, device))  # fmt: skip


def _random(config: SweepConfig, n: int, generator: torch.Generator, device: str) -> tuple[Tensor, Tensor]:
    """``n`` random inputs of the dataset's shape and random labels."""
    x = torch.randn(n, *_SHAPES[config.dataset], generator=generator)
    y = torch.randint(0, data.NUM_CLASSES[config.dataset], (n,), generator=generator)
    return x.to(device), y.to(device)


def _train(model: torch.nn.Module, config: SweepConfig, steps: int, generator: torch.Generator, device: str) -> float:
    """The run's training seconds: ``steps`` steps of ``train_model`` × epochs × batches per epoch."""
    x, y = _random(config, steps * config.batch_size, generator, device)
    one_epoch = dataclasses.replace(config, epochs=1)
    lr = 1e-3  # a step costs the same at any rate; a small one keeps random-label training finite
    run.train_model(model, one_epoch, lr, 0, x[: config.batch_size], y[: config.batch_size])  # warm-up
    seconds = _repeated(lambda: run.train_model(model, one_epoch, lr, 0, x, y), device)
    return seconds / steps * math.ceil(split_sizes(config)[0] / config.batch_size) * config.epochs


def _curvature(
    model: torch.nn.Module,
    config: SweepConfig,
    scales: dict[str, Tensor],
    extra_scales: dict[str, dict[str, Tensor]],
    slice_size: int,
    generator: torch.Generator,
    device: str,
) -> dict[str, float | tuple[int, int]]:
    """``curvature``, ``curvature_max``, ``fourth_order``, ``variance_terms``, ``kink`` seconds and ``trace_products``;
    the test traces include the extra noise models' (``extra_scales``), as in the run."""
    n_train, n_test = split_sizes(config)
    n_sub = min(config.curvature_samples or n_train, n_train)
    k_sub, k_test = min(slice_size, n_sub), min(n_test, max(slice_size, run.FOURTH_ORDER_SUBSET))
    # A split larger than one evaluation batch rebuilds its graph for every product: chunk the
    # slice as finely as the run's larger split.
    largest, batch = max(n_sub, n_test), config.eval_batch_size
    if largest > batch:
        batch = max(1, math.ceil(slice_size * batch / largest))
    # Traces stop at their first check: what products beyond cost is priced from Lanczos below.
    sliced = dataclasses.replace(config, curvature_samples=k_sub, eval_batch_size=batch, trace_rel_se=_FIRST_CHECK)
    x_sub, y_sub = _random(config, k_sub, generator, "cpu")  # the run keeps the train split on the CPU
    x_test, y_test = _random(config, k_test, generator, device)
    warm_up = Stopwatch(device)
    run.measure_curvature(model, sliced, scales, x_sub[:8], y_sub[:8], x_test[:8], y_test[:8], device, warm_up,
                          extra_scales)  # fmt: skip
    watch = Stopwatch(device)
    measured = run.measure_curvature(model, sliced, scales, x_sub, y_sub, x_test, y_test, device, watch, extra_scales)
    run.kink_terms(model, config, scales, x_test[:8], y_test[:8], extra_scales)  # warm-up
    kink = run.kink_terms(model, config, scales, x_test, y_test, extra_scales).main.seconds * n_test / k_test

    exact = curvature.hessian_trace(  # exact G: a sampled one would leave a certified net looking uncertified
        model, x_test[:16], y_test[:16], max_matvecs=config.trace_max_matvecs, batch_size=batch, gauss_newton="exact",
        generator=torch.Generator().manual_seed(0),
    ).exact  # fmt: skip
    fewest = measured["hessian_trace_test"]["matvecs"]
    most = fewest if exact else max(fewest, config.trace_max_matvecs)
    lanczos = measured["lambda_max_train"]
    per_product = lanczos["seconds"] / lanczos["matvecs"] / k_sub  # seconds per product and sample
    low = lanczos["seconds"] * n_sub / k_sub
    high = low
    # the test traces come from one call: its seconds are each one's, counted once
    for name, n, k in (("hessian_trace_train", n_sub, k_sub), ("hessian_trace_test", n_test, k_test)):
        low += measured[name]["seconds"] * n / k
        high += measured[name]["seconds"] * n / k
    for name, n in (("hessian_trace_train", n_sub), ("hessian_trace_test", n_test), ("noise_trace_test", n_test)):
        high += n * (most - measured[name]["matvecs"]) * per_product
    subset = min(run.FOURTH_ORDER_SUBSET, n_test) / min(run.FOURTH_ORDER_SUBSET, k_test)
    return {
        "curvature": low,
        "curvature_max": high,
        "fourth_order": watch.seconds["fourth_order"] * subset,
        "variance_terms": watch.seconds["variance_terms"] * n_test / k_test,
        "kink": kink,
        "trace_products": (fewest, most),
    }


def _noise(
    model: torch.nn.Module, config: SweepConfig, scales: dict[str, Tensor], generator: torch.Generator, device: str
) -> float:
    """The run's Monte Carlo seconds: three passes over one evaluation batch × the run's passes and batches."""
    n_test = split_sizes(config)[1]
    k = min(config.eval_batch_size, n_test)
    x, y = _random(config, k, generator, device)

    def three_passes() -> None:  # clean, +ε and −ε
        evaluate.monte_carlo(model, x, y, scales, config.noise_levels[:1], 2, config.noise_seed, config.eval_batch_size,
                             blocks=min(config.noise_blocks, k))  # fmt: skip

    three_passes()  # warm-up
    extra = sum(map(len, config.extra_noise_models.values()))
    passes = 1 + config.samples * len(config.noise_levels) + (config.extra_noise_samples or config.samples) * extra
    return _repeated(three_passes, device) / 3 * passes * n_test / k


def _repeated(fn: Callable[[], object], device: str) -> float:
    """Mean seconds per call of ``fn``, called until ``MIN_SECONDS`` have passed (at least once)."""
    calls, total = 0, 0.0
    while calls == 0 or total < MIN_SECONDS:
        total += timed(fn, device)
        calls += 1
    return total / calls


def report(config: SweepConfig, device: str, estimate: Estimate, runs: int, jobs: int) -> str:
    """The lines ``--estimate`` prints."""
    e = estimate
    fewest, most = e.trace_products
    traces = (
        f"traces certified exact, {fewest} products each"
        if fewest == most
        else f"traces take {fewest} to {most} products each, as many as the trained network needs"
    )
    return "\n".join(
        [
            f"Estimated cost on {device} (preset {config.preset}: {config.model} on {config.dataset}, "
            f"{config.epochs} epochs, {len(config.noise_levels)} noise levels × {config.samples} draws):",
            f"  per run: {_span(e.per_run, e.per_run_max)} = training {_hms(e.train)} + curvature "
            f"{_span(e.curvature, e.curvature_max)} ({traces}) + fourth-order term {_hms(e.fourth_order)}"
            f" + variance terms {_hms(e.variance_terms)} + kink term {_hms(e.kink)} + noise evaluation {_hms(e.noise)}",
            f"  {runs} runs: {_span(e.per_run * runs, e.per_run_max * runs)} serial; "
            f"{_span(e.per_run * runs / jobs, e.per_run_max * runs / jobs)} with {jobs} parallel jobs of this kind"
            " (a diverged run skips curvature and noise)",
            *_untimed(config),
        ]
    )


def _untimed(config: SweepConfig) -> list[str]:
    """A line naming the parts of a run the estimate leaves out, if the config has any."""
    parts = [
        *(["the per-layer sensitivity of the layer_seeds runs"] if config.layer_levels and config.layer_seeds else []),
        *([f"the control variate's Lanczos ({config.control_directions} directions on the first "
           f"{control_variate.SUBSET} test samples; 40–120 products on the MNIST-1D CNN, ~1 s per noise model)"]
          if config.control_directions and config.samples // 2 >= control_variate.MIN_PAIRS else []),
    ]  # fmt: skip
    return [f"  not in the estimate: {'; '.join(parts)}"] if parts else []


def _span(low: float, high: float) -> str:
    return _hms(low) if _hms(low) == _hms(high) else f"{_hms(low)} to {_hms(high)}"


def _hms(seconds: float) -> str:
    h, rest = divmod(int(round(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"
