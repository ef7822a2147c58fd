"""``python -m empirical.bench.curvature``: this package's Hessian trace vs PyHessian's, at 1% error.

On the same checkpoints and data, in one process, interleaved repeat by repeat (so that a busy
machine slows every method alike):

- PyHessian, called as its README shows: ``hessian(model, criterion, data=(x, y), cuda=False)``
  then ``.trace(maxIter=n, tol=0)``, with n chosen from a pilot run so that its rms relative error
  is 1% (its probes are i.i.d., so n = (per-probe std / (1% · reference))²). Also its defaults
  (``trace()``: up to 100 probes, stopping when the running mean moves less than 0.1%).
- This engine, ``hessian_trace(..., rel_se=0.01)`` (default method ``gn``, others by ``--methods``),
  and tr(HΣ₁) for the preset's noise model, which PyHessian cannot compute.

Reference: the exact trace from BackPACK's DiagHessian (exact Hessian diagonal by second-order
backpropagation, Dangel et al. 2020) on a float64 copy of the model; where BackPACK lacks a layer
(GELU, batch norm), the exact diagonal by unit-vector products in float64 (up to 10,000
parameters); the JSON says which.
Checkpoints: the preset's model trained on the spot at a low, middle and high learning rate.

Outputs per checkpoint and method: products (matvecs), wall seconds (median), rms relative error
against the reference, mean reported relative standard error, and coverage (fraction of repeats
with |estimate − reference| ≤ 2·se). ``speedup_at_1pct`` = PyHessian's median time, rescaled to
exactly 1% rms error by its 1/n variance law, over our median time at ``rel_se`` 1% (the smallest
over the checkpoints); ``se_coverage`` = coverage of the default method over all repeats.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from empirical.sweep import config as cfg
from empirical.experiment import models, noise, run
from empirical.curvature import ParameterSpace, SplitHessian, hessian_trace, operator_diagonal

OURS = ("gn", "hutchinson", "hutchpp", "xtrace")
EXACT_DIM = 10_000  # without BackPACK, the reference is the exact diagonal by products up to this size


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    """(result, wall seconds) of one call, waiting for the device before and after."""
    _synchronize(device)
    start = time.perf_counter()
    out = fn()
    _synchronize(device)
    return out, time.perf_counter() - start


def reference_diagonal(model: nn.Module, x: Tensor, y: Tensor, *, chunk: int = 100) -> tuple[dict[str, Tensor], str]:
    """The exact Hessian diagonal per parameter (float64) and how it was computed.

    BackPACK's DiagHessian on a float64 copy, ``chunk`` samples at a time (its memory grows fast
    with the batch for smooth activations), weighted by chunk size; where BackPACK lacks a layer,
    unit-vector products in float64 (up to ``EXACT_DIM`` parameters).
    """
    m64 = copy.deepcopy(model).double().eval()
    x64 = x.double()
    try:
        from backpack import backpack, extend
        from backpack.extensions import DiagHessian

        extended, criterion = extend(m64), extend(nn.CrossEntropyLoss())
        diag = {n: torch.zeros_like(p) for n, p in extended.named_parameters()}
        for start in range(0, len(y), chunk):
            xb, yb = x64[start : start + chunk], y[start : start + chunk]
            extended.zero_grad()
            loss = criterion(extended(xb), yb)
            with warnings.catch_warnings(), backpack(DiagHessian()):
                warnings.simplefilter("ignore")
                loss.backward()
            for n, p in extended.named_parameters():
                diag[n] += p.diag_h.detach() * (len(yb) / len(y))
        return diag, "exact: BackPACK DiagHessian (second-order backpropagation), float64"
    except Exception as err:  # BackPACK lacks a layer
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:120]
    m64 = copy.deepcopy(model).double().eval()
    names = [n for n, p in m64.named_parameters() if p.requires_grad]
    space = ParameterSpace.build(m64, names, None)
    if space.dim > EXACT_DIM:
        raise RuntimeError(f"no exact reference for {space.dim} parameters without BackPACK ({reason})")
    op = SplitHessian(m64, x64, y, space, kind="hessian", batch_size=len(y))
    with torch.enable_grad():
        flat = operator_diagonal(op.matmat, space.dim, device=space.device, dtype=space.dtype)
    op.release()
    diag = {n: flat[b].view_as(p) for (n, b), p in zip(space.blocks().items(), space.params)}
    return diag, f"exact: Hessian diagonal by {space.dim} unit-vector products, float64 (BackPACK: {reason})"


def weighted_trace(diag: dict[str, Tensor], scale: dict[str, Tensor] | None = None) -> float:
    """Σ diag (tr H), or Σ scale² · diag over the scaled parameters (tr HΣ₁)."""
    if scale is None:
        return float(sum(d.sum() for d in diag.values()))
    return float(sum((diag[n] * s.double().to(diag[n].device).square()).sum() for n, s in scale.items()))


def pyhessian_trace(model: nn.Module, x: Tensor, y: Tensor, *, max_iter: int | None, seed: int, cuda: bool) -> list[float]:
    """PyHessian's Hutchinson samples vᵀHv, called as its README shows (defaults if max_iter is None)."""
    from pyhessian import hessian

    torch.manual_seed(seed)  # PyHessian draws from the global RNG
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
            comp = hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=cuda)
        return comp.trace() if max_iter is None else comp.trace(maxIter=max_iter, tol=0.0)
    finally:
        model.zero_grad(set_to_none=True)  # PyHessian leaves graph-holding .grad tensors behind


def summarize(name: str, checkpoint: str, lr: float, reference: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One method on one checkpoint, over its repeats."""
    errors = [(r["value"] - reference) / abs(reference) for r in rows]
    ses = [r["se"] for r in rows]
    has_se = all(s is not None for s in ses)
    return {
        "name": name,
        "checkpoint": checkpoint,
        "lr": lr,
        "reference": reference,
        "repeats": len(rows),
        "matvecs": statistics.mean(r["matvecs"] for r in rows),
        "seconds": statistics.median(r["seconds"] for r in rows),
        "seconds_mean": statistics.mean(r["seconds"] for r in rows),
        "rel_error": math.sqrt(statistics.mean(e * e for e in errors)),
        "median_abs_rel_error": statistics.median(abs(e) for e in errors),
        "se": statistics.mean(ses) if has_se else None,
        "rel_se": statistics.mean(s / abs(reference) for s in ses) if has_se else None,
        "coverage": (
            statistics.mean(float(abs(r["value"] - reference) <= 2 * r["se"]) for r in rows) if has_se else None
        ),
        "values": [r["value"] for r in rows],
    }


def benchmark(
    checkpoints: list[tuple[str, float, nn.Module]],
    x: Tensor,
    y: Tensor,
    scale_fn: Callable[[nn.Module], dict[str, Tensor]] | None,
    *,
    repeats: int,
    target: float,
    methods: tuple[str, ...],
    pilot: int,
    device: torch.device,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the comparison; returns the JSON-ready result (see module docstring)."""
    x, y = x.to(device), y.to(device)
    cuda = device.type == "cuda"
    summaries, references, speedups = [], [], []
    coverage_hits: list[float] = []
    for checkpoint, lr, model in checkpoints:
        model = model.to(device).eval()
        scale = scale_fn(model) if scale_fn is not None else None
        diag, how = reference_diagonal(model, x, y)
        ref = weighted_trace(diag)
        entry = {"checkpoint": checkpoint, "lr": lr, "trace": ref, "method": how}
        if scale is not None:
            entry["noise_trace"] = weighted_trace(diag, scale)
        references.append(entry)
        samples = pyhessian_trace(model, x, y, max_iter=pilot, seed=10_000, cuda=cuda)
        per_probe = statistics.stdev(samples) / abs(ref)
        n_target = max(2, math.ceil((per_probe / target) ** 2))
        log(f"{checkpoint}: reference tr(H) = {ref:.6g} ({how.split(':')[0]}); PyHessian per-probe rel. std "
            f"{per_probe:.3f} from {pilot} probes -> {n_target} probes for {target:.0%}")  # fmt: skip

        runs: dict[str, Callable[[int], dict[str, Any]]] = {}

        def pyh(max_iter: int | None) -> Callable[[int], dict[str, Any]]:
            def go(seed: int) -> dict[str, Any]:
                vals, sec = timed(lambda: pyhessian_trace(model, x, y, max_iter=max_iter, seed=seed, cuda=cuda), device)
                return {"value": statistics.mean(vals), "se": None, "matvecs": len(vals), "seconds": sec}

            return go

        def ours(method: str, with_scale: bool) -> Callable[[int], dict[str, Any]]:
            def go(seed: int) -> dict[str, Any]:
                est, sec = timed(lambda: hessian_trace(
                    model, x, y, scale=scale if with_scale else None, method=method, rel_se=target,
                    max_matvecs=100_000, batch_size=len(y), generator=torch.Generator().manual_seed(seed),
                ), device)  # fmt: skip
                return {"value": est.value, "se": est.se, "matvecs": est.matvecs, "seconds": sec}

            return go

        runs[f"pyhessian, {n_target} probes (1%)"] = pyh(n_target)
        runs["pyhessian, defaults"] = pyh(None)
        for method in methods:
            runs[f"ours {method}"] = ours(method, False)
        if scale is not None:
            runs[f"ours {methods[0]}, tr(HΣ₁)"] = ours(methods[0], True)
        for go in runs.values():  # warm-up
            go(99_999)
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
        names = list(runs)
        for r in range(repeats):
            for name in names[r % len(names):] + names[: r % len(names)]:  # rotate the order
                rows[name].append(runs[name](r))
            log(f"  repeat {r + 1}/{repeats} done")
        for name, rs in rows.items():
            reference = entry["noise_trace"] if "tr(HΣ₁)" in name else ref
            summaries.append(summarize(name, checkpoint, lr, reference, rs))
            if name.startswith(f"ours {methods[0]}"):
                coverage_hits += [float(abs(r["value"] - reference) <= 2 * r["se"]) for r in rs]
        pyh_row = next(s for s in summaries[-len(rows):] if s["name"].startswith("pyhessian,") and "(1%)" in s["name"])
        our_row = next(s for s in summaries[-len(rows):] if s["name"] == f"ours {methods[0]}")
        pyh_at_target = pyh_row["seconds"] * (pyh_row["rel_error"] / target) ** 2
        speedups.append({
            "checkpoint": checkpoint, "lr": lr, "pyhessian_seconds": pyh_row["seconds"],
            "pyhessian_rel_error": pyh_row["rel_error"], "pyhessian_seconds_at_1pct": pyh_at_target,
            "ours_seconds": our_row["seconds"], "ours_rel_error": our_row["rel_error"],
            "speedup_raw": pyh_row["seconds"] / our_row["seconds"], "speedup_at_1pct": pyh_at_target / our_row["seconds"],
        })  # fmt: skip
    return {
        "methods": summaries,
        "speedup_at_1pct": min(s["speedup_at_1pct"] for s in speedups),
        "se_coverage": statistics.mean(coverage_hits) if coverage_hits else None,
        "speedups": speedups,
        "references": references,
        "target_rel_error": target,
        "default_method": methods[0],
    }


def table(result: dict[str, Any]) -> str:
    """The printed table: one line per checkpoint and method."""
    lines = [
        f"{'checkpoint':<12} {'method':<30} {'matvecs':>8} {'seconds':>8} {'rms rel err':>12} {'rel se':>8} {'coverage':>9}",
    ]
    def pct(v: float) -> str:
        return f"{v:.2%}" if v >= 5e-5 else f"{v:.0e}"

    for m in result["methods"]:
        rel_se = "—" if m["rel_se"] is None else pct(m["rel_se"])
        cov = "—" if m["coverage"] is None else f"{m['coverage']:.0%}"
        lines.append(
            f"{m['checkpoint']:<12} {m['name']:<30} {m['matvecs']:>8.0f} {m['seconds']:>8.2f} "
            f"{pct(m['rel_error']):>12} {rel_se:>8} {cov:>9}"
        )
    lines.append("")
    for s in result["speedups"]:
        lines.append(
            f"{s['checkpoint']}: PyHessian {s['pyhessian_seconds']:.2f} s at {s['pyhessian_rel_error']:.2%} rms "
            f"({s['pyhessian_seconds_at_1pct']:.2f} s at 1%), ours {s['ours_seconds']:.2f} s at "
            f"{s['ours_rel_error']:.2g} rms rel. error -> speed-up {s['speedup_at_1pct']:.1f}x"
        )
    cov = result["se_coverage"]
    lines.append(
        f"speedup_at_1pct (smallest) = {result['speedup_at_1pct']:.1f}x; se_coverage ({result['default_method']}) = "
        + ("—" if cov is None else f"{cov:.1%}")
    )
    return "\n".join(lines)


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m empirical.bench.curvature", description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default", help="preset whose data, model and training to use (default: default)")
    p.add_argument("--lrs", type=_floats, default=(0.01, 0.05, 0.2), help="learning rates of the checkpoints (default: 0.01,0.05,0.2)")
    p.add_argument("--activation", help="override the preset's activation (e.g. gelu)")
    p.add_argument("--repeats", type=int, default=20, help="repeats of every method (default: 20)")
    p.add_argument("--methods", default="gn", help=f"our methods, comma-separated, first is the default ({', '.join(OURS)})")
    p.add_argument("--target", type=float, default=0.01, help="target relative error (default: 0.01)")
    p.add_argument("--pilot", type=int, default=100, help="PyHessian probes of the pilot run that sizes its 1%% run")
    p.add_argument("--samples", type=int, help="use the first N test samples (default: the whole test split)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())

    def fail(message: str) -> int:
        print(f"bench_curvature: error: {message}", file=sys.stderr)
        return 2

    if args.repeats < 1:
        return fail(f"--repeats {args.repeats} must be >= 1")
    if args.pilot < 2:
        return fail(f"--pilot {args.pilot} must be >= 2")
    if not (0 < args.target < 1):
        return fail(f"--target {args.target} must be in (0, 1)")
    if not methods or any(m not in OURS for m in methods):
        return fail(f"--methods {args.methods!r}: expected a comma-separated subset of {', '.join(OURS)}")
    if any(not (lr > 0 and math.isfinite(lr)) for lr in args.lrs):
        return fail(f"--lrs {args.lrs}: learning rates must be > 0")
    try:
        device = torch.device(args.device)
        torch.zeros(1, device=device)
    except (RuntimeError, AssertionError) as e:
        return fail(f"--device {args.device!r} is unavailable: {str(e).splitlines()[0]}")
    try:
        overrides = {"activation": args.activation} if args.activation else {}
        config = cfg.resolve(args.preset, **overrides)
    except cfg.ConfigError as e:
        return fail(str(e))

    x_train, y_train = run.load_split(config, "train")
    x_test, y_test = run.load_split(config, "test")
    if args.samples is not None:
        if args.samples < 2:
            return fail(f"--samples {args.samples} must be >= 2")
        x_test, y_test = x_test[: args.samples], y_test[: args.samples]
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    checkpoints = []
    for lr in args.lrs:
        model = models.build(config.model, tuple(x_train.shape[1:]), num_classes, activation=config.activation, seed=0)
        model = model.to(device)
        fit = run.train_model(model, config, lr, 0, x_train.to(device), y_train.to(device))
        print(f"trained {config.model} ({config.activation}) at lr {lr:g}: {fit.status}, "
              f"final train loss {fit.epoch_losses[-1] if fit.epoch_losses else float('nan'):.4f}, {fit.seconds:.1f} s")  # fmt: skip
        if fit.status != "ok":
            print(f"  skipping lr {lr:g}: training {fit.status}")
            continue
        checkpoints.append((f"lr={lr:g}", lr, model.eval()))
    if not checkpoints:
        return fail("no checkpoint trained without diverging")

    def scale_fn(model: nn.Module) -> dict[str, Tensor]:
        return noise.scale(model, config.noise_model, noise.targets(model, config.noise_scope))

    start = time.perf_counter()
    result = benchmark(checkpoints, x_test, y_test, scale_fn, repeats=args.repeats, target=args.target,
                       methods=methods, pilot=args.pilot, device=device)  # fmt: skip
    result.update(
        command="python -m empirical.bench.curvature " + " ".join(sys.argv[1:] if argv is None else argv),
        preset=args.preset, model=config.model, activation=config.activation, noise_model=config.noise_model,
        test_samples=len(y_test), parameters=sum(p.numel() for p in checkpoints[0][2].parameters()),
        device=str(device), torch=torch.__version__, threads=torch.get_num_threads(),
        bench_seconds=time.perf_counter() - start,
    )  # fmt: skip
    print()
    print(table(result))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
