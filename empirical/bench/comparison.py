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
[smallest low, smallest high] at ``LEVEL``.

The reference (``reference.reference_traces``) is exact (se_ref = 0) or a Hutchinson run with its
standard error se_ref. Coverage is the fraction of repeats with |estimate − reference| ≤
2·√(se² + se_ref²) (:func:`covered`), with a Wilson interval; ``se_coverage`` pools the default
method's repeats (tr H and tr HΣ₁) over the checkpoints. The rms relative error is against the
reference as it is, with the reference's relative se alongside (``reference_rel_se``: in
expectation the squared rms error exceeds the one against the truth by its square). Where the reference's relative
se exceeds ``REFERENCE_SHARE`` of the target, no error or coverage is reported against it (None),
and its repeats stay out of ``se_coverage``.
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
from empirical.bench.reference import Reference, ReferenceTrace, reference_traces
from empirical.curvature import hessian_trace
from empirical.timing import timed

LEVEL = 0.95
WARMUP_PROBES = 2
REFERENCE_SHARE = 0.2  # a reference's relative se must be at most this fraction of the target


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
    reference: str = "auto"  # reference.reference_traces's method

    def usable(self, reference: ReferenceTrace) -> bool:
        """Whether ``reference`` is precise enough to judge errors at the target."""
        return reference.rel_se <= REFERENCE_SHARE * self.target

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


def covered(value: float, se: float, reference: float, reference_se: float = 0.0) -> bool:
    """|value − reference| ≤ 2·√(se² + reference_se²): the 2-se interval, widened by the reference's se."""
    return abs(value - reference) <= 2 * math.hypot(se, reference_se)


def rms_rel_error(values: list[float], reference: float) -> float:
    """√mean((value − reference)²) / |reference|."""
    return math.sqrt(statistics.fmean(((v - reference) / reference) ** 2 for v in values))


def summarize(name: str, checkpoint: Checkpoint, reference: ReferenceTrace, rows: list[dict[str, Any]],
              usable: bool = True) -> dict[str, Any]:  # fmt: skip
    """One method on one checkpoint, over its repeats; errors and coverage against ``reference``
    (None where it is not ``usable``)."""
    ref = reference.value
    errors = [(r["value"] - ref) / abs(ref) for r in rows]
    ses = [r["se"] for r in rows]
    hits = None if None in ses or not usable else sum(covered(r["value"], r["se"], ref, reference.se) for r in rows)
    coverage = None if hits is None else wilson(hits, len(rows), level=LEVEL)
    return {
        "name": name,
        "checkpoint": checkpoint.name,
        "lr": checkpoint.lr,
        "reference": ref,
        "reference_se": reference.se,
        "reference_rel_se": reference.rel_se,
        "repeats": len(rows),
        "matvecs": statistics.mean(r["matvecs"] for r in rows),
        "seconds": statistics.median(r["seconds"] for r in rows),
        "seconds_mean": statistics.mean(r["seconds"] for r in rows),
        "rel_error": rms_rel_error([r["value"] for r in rows], ref) if usable else None,
        "median_abs_rel_error": statistics.median(abs(e) for e in errors) if usable else None,
        "se": None if None in ses else statistics.mean(ses),
        "rel_se": None if None in ses else statistics.mean(s / abs(ref) for s in ses),
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
    default method's coverage hits (:func:`covered`, one bool per repeat of tr H and tr HΣ₁ where the
    reference is usable)."""
    model = checkpoint.model
    out: dict[str, Reference] = {}
    seconds = timed(lambda: out.update(r=reference_traces(model, x, y, scale, method=plan.reference)), plan.device)
    found = out["r"]
    ref = found.trace.value
    traces = {"trace": found.trace} | ({"noise_trace": found.noise_trace} if found.noise_trace is not None else {})
    reference: dict[str, Any] = {"checkpoint": checkpoint.name, "lr": checkpoint.lr, "method": found.method,
                                 "seconds": seconds}  # fmt: skip
    for key, t in traces.items():
        reference |= {key: t.value, f"{key}_se": t.se, f"{key}_rel_se": t.rel_se, f"{key}_probes": t.probes,
                      f"{key}_usable": plan.usable(t)}  # fmt: skip
    n, sized = plan.probes, plan.probes is None
    if sized:
        samples, _, _ = pyhessian_trace(model, x, y, max_iter=plan.pilot, seed=10_000, device=plan.device)
        n = max(2, math.ceil((statistics.stdev(samples) / abs(ref) / plan.target) ** 2))
    log(f"{checkpoint.name}: reference tr(H) = {ref:.6g} ± {found.trace.se:.2g} ({found.method.split(':')[0]}, "
        f"{seconds:.0f} s); PyHessian runs {n} probes"
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
    truth = {name: found.noise_trace if name.endswith("tr(HΣ₁)") else found.trace for name in rows}
    speedup = _speedup(checkpoint, found.trace, plan, rows[timed_name], rows[plan.default], level)
    log(f"  PyHessian per-probe rel. std {speedup['pyhessian_probe_rel_std']:.3f} -> "
        f"{speedup['pyhessian_probes_at_1pct']:.0f} probes for {plan.target:.0%}")  # fmt: skip
    return {
        "reference": reference,
        "summaries": [summarize(name, checkpoint, truth[name], rs, plan.usable(truth[name]))
                      for name, rs in rows.items()],  # fmt: skip
        "speedup": speedup,
        "hits": [covered(r["value"], r["se"], truth[name].value, truth[name].se)
                 for name in (plan.default, f"{plan.default}, tr(HΣ₁)")
                 if name in rows and plan.usable(truth[name]) for r in rows[name]],  # fmt: skip
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


def _speedup(checkpoint: Checkpoint, reference: ReferenceTrace, plan: Plan, pyh: list[dict[str, Any]],
             ours: list[dict[str, Any]], level: float) -> dict[str, Any]:  # fmt: skip
    """PyHessian's cost at the target over ours on one checkpoint (see the module docstring); the rms
    errors are None where the reference is not usable."""
    ref, usable = reference.value, plan.usable(reference)
    probes = [v for r in pyh for v in r["probes"]]
    per_probe = statistics.stdev(probes) / abs(ref)
    n_target = (per_probe / plan.target) ** 2
    at_target = [r["setup"] + n_target * r["trace"] / r["matvecs"] for r in pyh]
    ours_s = [r["seconds"] for r in ours]
    speedup = ratio_interval(at_target, ours_s, level=level, v=log_variance_var(probes))
    pyh_s = statistics.median(r["seconds"] for r in pyh)
    return {
        "checkpoint": checkpoint.name, "lr": checkpoint.lr, "pyhessian_seconds": pyh_s,
        "reference_rel_se": reference.rel_se,
        "pyhessian_rel_error": rms_rel_error([r["value"] for r in pyh], ref) if usable else None,
        "pyhessian_probes": pyh[0]["matvecs"], "pyhessian_probe_rel_std": per_probe,
        "pyhessian_probes_at_1pct": n_target, "pyhessian_seconds_at_1pct": statistics.median(at_target),
        "ours_seconds": statistics.median(ours_s),
        "ours_rel_error": rms_rel_error([r["value"] for r in ours], ref) if usable else None,
        "speedup_raw": pyh_s / statistics.median(ours_s), "speedup_at_1pct": speedup.value,
        "speedup_at_1pct_ci": _interval(speedup), "interval_level": level, "repeats": speedup.n,
    }  # fmt: skip
