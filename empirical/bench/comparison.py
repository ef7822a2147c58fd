"""PyHessian's Hessian trace against this package's on the same checkpoints, with error bars.

Per checkpoint, every method runs ``Plan.repeats`` times, interleaved repeat by repeat with the
order rotated (so a busy machine slows every method alike), after warm-up calls:

- PyHessian, called as its README shows (``hessian(model, criterion, data=(x, y), cuda=...)`` then
  ``.trace(maxIter=n, tol=0)``), n = ``probes`` per run, or sized by a pilot run of ``pilot``
  probes to reach the target error (n = (per-probe std / (target · reference))², its probes being
  i.i.d.); also, with ``defaults``, its defaults (``trace()``: up to 100 probes, stopping when the
  running mean moves less than 0.1%).
- This package's ``hessian_trace(..., rel_se=target)`` for each of ``methods`` (the first is the
  default method), and tr(HΣ₁) by the default method when a noise scale is given.

PyHessian's cost at the target, per repeat r: setup_r + n_target · (trace seconds_r / n), with
n_target = σ̂²/(target · |tr H|)² from the per-probe variance σ̂² pooled over all its timed probes
(its rms error is σ/√n). The speed-up at the target is the geometric mean over repeats of that
cost over ours, with a log-ratio t-interval (``intervals.ratio_interval``) that also carries the
uncertainty of σ̂² (as if all of PyHessian's cost scaled with it: an upper bound). Intervals are simultaneous at
``LEVEL`` over the checkpoints (each at 1 − (1 − LEVEL)/k), so the smallest speed-up lies in
[smallest low, smallest high] at ``LEVEL``. Coverage is the fraction of repeats with
|estimate − reference| ≤ 2·se, with a Wilson interval; ``se_coverage`` pools the default method's
repeats (tr H and tr HΣ₁) over the checkpoints.
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import torch
from torch import Tensor, nn

from empirical.bench.intervals import Interval, log_variance_var, ratio_interval, wilson
from empirical.bench.reference import reference_diagonal, weighted_trace
from empirical.curvature import hessian_trace
from empirical.timing import timed

LEVEL = 0.95
WARMUP_PROBES = 2


class Checkpoint(NamedTuple):
    """A trained model to measure, named (e.g. ``"lr=0.2"``) after the learning rate that trained it."""

    name: str
    lr: float
    model: nn.Module


@dataclass(frozen=True)
class Plan:
    """What to run on each checkpoint (see the module docstring); ``target`` is a relative error."""

    repeats: int
    target: float = 0.01
    methods: tuple[str, ...] = ("gn",)  # ours; the first is the default method
    pilot: int = 100
    probes: int | None = None  # PyHessian probes per timed run; None: sized by the pilot
    defaults: bool = True  # also time PyHessian's defaults
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def default(self) -> str:
        return f"ours {self.methods[0]}"


def pyhessian_trace(
    model: nn.Module, x: Tensor, y: Tensor, *, max_iter: int | None, seed: int, device: torch.device
) -> tuple[list[float], float, float]:
    """PyHessian's probe values vᵀHv (its defaults if ``max_iter`` is None), its setup and trace seconds."""
    from pyhessian import hessian

    torch.manual_seed(seed)  # PyHessian draws from the global RNG
    options = {} if max_iter is None else {"maxIter": max_iter, "tol": 0.0}
    out: dict[str, Any] = {}

    def setup() -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r"Using backward\(\) with create_graph=True", UserWarning)
            out["h"] = hessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=device.type == "cuda")

    try:
        setup_s = timed(setup, device)
        trace_s = timed(lambda: out.update(v=out["h"].trace(**options)), device)
        return out["v"], setup_s, trace_s
    finally:
        model.zero_grad(set_to_none=True)  # PyHessian leaves graph-holding .grad tensors behind


def _interval(i: Interval) -> list[float]:
    return [i.low, i.high]


def summarize(name: str, checkpoint: Checkpoint, reference: float, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One method on one checkpoint, over its repeats (errors relative to ``reference``)."""
    errors = [(r["value"] - reference) / abs(reference) for r in rows]
    ses = [r["se"] for r in rows]
    hits = None if None in ses else sum(abs(r["value"] - reference) <= 2 * r["se"] for r in rows)
    coverage = None if hits is None else wilson(hits, len(rows), level=LEVEL)
    return {
        "name": name,
        "checkpoint": checkpoint.name,
        "lr": checkpoint.lr,
        "reference": reference,
        "repeats": len(rows),
        "matvecs": statistics.mean(r["matvecs"] for r in rows),
        "seconds": statistics.median(r["seconds"] for r in rows),
        "seconds_mean": statistics.mean(r["seconds"] for r in rows),
        "rel_error": math.sqrt(statistics.mean(e * e for e in errors)),
        "median_abs_rel_error": statistics.median(abs(e) for e in errors),
        "se": None if hits is None else statistics.mean(ses),
        "rel_se": None if hits is None else statistics.mean(s / abs(reference) for s in ses),
        "coverage": None if coverage is None else coverage.value,
        "coverage_ci": None if coverage is None else _interval(coverage),
        "values": [r["value"] for r in rows],
        # ours: the repeats whose tr(GΣ₁) was sampled, and their mean passes over the split
        "gn_sampled": sum(r["sampled"] for r in rows) if "sampled" in rows[0] else None,
        "gn_passes": statistics.mean(r["gn_passes"] for r in rows) if "gn_passes" in rows[0] else None,
    }


Run = Callable[[int], dict[str, Any]]  # seed -> one timed result: value, se, matvecs, seconds (and PyHessian's parts)


def _runs(model: nn.Module, x: Tensor, y: Tensor, scale: dict[str, Tensor] | None, n: int, name: str,
          plan: Plan) -> dict[str, Run]:  # fmt: skip
    """The timed calls on one checkpoint by row name: PyHessian at ``n`` probes first, ours last."""

    def pyh(max_iter: int | None) -> Run:
        def go(seed: int) -> dict[str, Any]:
            vals, setup, trace = pyhessian_trace(model, x, y, max_iter=max_iter, seed=seed, device=plan.device)
            return {"value": statistics.mean(vals), "se": None, "matvecs": len(vals), "seconds": setup + trace,
                    "setup": setup, "trace": trace, "probes": vals}  # fmt: skip

        return go

    def ours(method: str, noise: dict[str, Tensor] | None) -> Run:
        def go(seed: int) -> dict[str, Any]:
            out: dict[str, Any] = {}
            sec = timed(lambda: out.update(e=hessian_trace(
                model, x, y, scale=noise, method=method, rel_se=plan.target, max_matvecs=100_000,
                batch_size=len(y), generator=torch.Generator().manual_seed(seed),
            )), plan.device)  # fmt: skip
            e = out["e"]
            return {"value": e.value, "se": e.se, "matvecs": e.matvecs, "seconds": sec, "gn_passes": e.gn_passes,
                    "sampled": e.gauss_newton == "sampled"}  # fmt: skip

        return go

    runs = {name: pyh(n)} | ({"pyhessian, defaults": pyh(None)} if plan.defaults else {})
    runs |= {f"ours {m}": ours(m, None) for m in plan.methods}
    if scale is not None:
        runs[f"{plan.default}, tr(HΣ₁)"] = ours(plan.methods[0], scale)
    return runs


def measure(checkpoint: Checkpoint, x: Tensor, y: Tensor, scale: dict[str, Tensor] | None, plan: Plan,
            level: float, log: Callable[[str], None]) -> dict[str, Any]:  # fmt: skip
    """One checkpoint: its reference, one summary per row, the speed-up (interval at ``level``) and the
    default method's coverage hits (|error| ≤ 2 se, one bool per repeat of tr H and tr HΣ₁)."""
    model = checkpoint.model
    diag, how = reference_diagonal(model, x, y)
    ref = weighted_trace(diag)
    reference = {"checkpoint": checkpoint.name, "lr": checkpoint.lr, "trace": ref, "method": how}
    if scale is not None:
        reference["noise_trace"] = weighted_trace(diag, scale)
    n, sized = plan.probes, plan.probes is None
    if sized:
        samples, _, _ = pyhessian_trace(model, x, y, max_iter=plan.pilot, seed=10_000, device=plan.device)
        n = max(2, math.ceil((statistics.stdev(samples) / abs(ref) / plan.target) ** 2))
    log(f"{checkpoint.name}: reference tr(H) = {ref:.6g} ({how.split(':')[0]}); PyHessian runs {n} probes"
        + (f" (pilot of {plan.pilot} for {plan.target:.0%})" if sized else ""))  # fmt: skip
    timed_name = f"pyhessian, {n} probes" + (f" ({plan.target:.0%})" if sized else "")
    runs = _runs(model, x, y, scale, n, timed_name, plan)
    pyhessian_trace(model, x, y, max_iter=WARMUP_PROBES, seed=99_999, device=plan.device)  # warm-ups
    for name, go in runs.items():
        if name.startswith("ours"):
            go(99_999)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(plan.repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
            rows[name].append(runs[name](r))
        log(f"  repeat {r + 1}/{plan.repeats} done")
    truth = {name: reference["noise_trace"] if name.endswith("tr(HΣ₁)") else ref for name in rows}
    speedup = _speedup(checkpoint, ref, plan.target, rows[timed_name], rows[plan.default], level)
    log(f"  PyHessian per-probe rel. std {speedup['pyhessian_probe_rel_std']:.3f} -> "
        f"{speedup['pyhessian_probes_at_1pct']:.0f} probes for {plan.target:.0%}")  # fmt: skip
    return {
        "reference": reference,
        "summaries": [summarize(name, checkpoint, truth[name], rs) for name, rs in rows.items()],
        "speedup": speedup,
        "hits": [abs(r["value"] - truth[name]) <= 2 * r["se"] for name in (plan.default, f"{plan.default}, tr(HΣ₁)")
                 if name in rows for r in rows[name]],  # fmt: skip
    }


def benchmark(
    checkpoints: list[Checkpoint],
    x: Tensor,
    y: Tensor,
    scale_fn: Callable[[nn.Module], dict[str, Tensor]] | None,
    plan: Plan,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure every checkpoint (see the module docstring); returns the JSON-ready result."""
    x, y = x.to(plan.device), y.to(plan.device)
    level = 1 - (1 - LEVEL) / len(checkpoints)  # simultaneous over the checkpoints
    parts = []
    for checkpoint in checkpoints:
        model = checkpoint.model.to(plan.device).eval()
        scale = scale_fn(model) if scale_fn is not None else None
        parts.append(measure(checkpoint._replace(model=model), x, y, scale, plan, level, log))
    speedups = [p["speedup"] for p in parts]
    hits = [h for p in parts for h in p["hits"]]
    coverage = wilson(sum(hits), len(hits), level=LEVEL) if hits else None
    return {
        "methods": [s for p in parts for s in p["summaries"]],
        "speedup_at_1pct": min(s["speedup_at_1pct"] for s in speedups),
        "speedup_at_1pct_ci": [min(s["speedup_at_1pct_ci"][i] for s in speedups) for i in (0, 1)],
        "se_coverage": None if coverage is None else coverage.value,
        "se_coverage_ci": None if coverage is None else _interval(coverage),
        "se_coverage_trials": len(hits),
        "interval_level": LEVEL,
        "speedups": speedups,
        "references": [p["reference"] for p in parts],
        "target_rel_error": plan.target,
        "default_method": plan.methods[0],
    }


def _speedup(checkpoint: Checkpoint, ref: float, target: float, pyh: list[dict[str, Any]],
             ours: list[dict[str, Any]], level: float) -> dict[str, Any]:  # fmt: skip
    """PyHessian's cost at the target over ours on one checkpoint (see the module docstring)."""
    probes = [v for r in pyh for v in r["probes"]]
    per_probe = statistics.stdev(probes) / abs(ref)
    n_target = (per_probe / target) ** 2
    at_target = [r["setup"] + n_target * r["trace"] / r["matvecs"] for r in pyh]
    ours_s = [r["seconds"] for r in ours]
    speedup = ratio_interval(at_target, ours_s, level=level, v=log_variance_var(probes))
    pyh_s = statistics.median(r["seconds"] for r in pyh)
    return {
        "checkpoint": checkpoint.name, "lr": checkpoint.lr, "pyhessian_seconds": pyh_s,
        "pyhessian_rel_error": math.sqrt(statistics.mean(((r["value"] - ref) / ref) ** 2 for r in pyh)),
        "pyhessian_probes": pyh[0]["matvecs"], "pyhessian_probe_rel_std": per_probe,
        "pyhessian_probes_at_1pct": n_target, "pyhessian_seconds_at_1pct": statistics.median(at_target),
        "ours_seconds": statistics.median(ours_s),
        "ours_rel_error": math.sqrt(statistics.mean(((r["value"] - ref) / ref) ** 2 for r in ours)),
        "speedup_raw": pyh_s / statistics.median(ours_s), "speedup_at_1pct": speedup.value,
        "speedup_at_1pct_ci": _interval(speedup), "interval_level": level, "repeats": speedup.n,
    }  # fmt: skip
