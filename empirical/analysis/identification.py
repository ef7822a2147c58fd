"""Which quantity explains ΔL beyond the learning rate? Within-lr variation, and the theory's slope.

Every candidate that moves monotonically with the learning rate ranks the learning rates the same
way, so a correlation across lr means cannot tell them apart. Here the learning rate is a
category: per noise level, ΔL and each candidate are centred within their learning rate (seeds of
one lr against each other) and the centred values are pooled over learning rates, giving the
partial correlation r of ΔL with the candidate controlling for lr, and r², the share of the
within-lr variance of ΔL it explains. Candidates (:data:`CANDIDATES`): tr(H), tr(HΣ₁),
½η² tr(HΣ₁) + kink term (ΔL-equivalent), λ_max, the weight norm, the clean loss.

The theory's stronger claim is tested directly: per run, y = ΔL/(½η²) averaged over the levels
η ≤ :data:`~empirical.analysis.requirement.SMALL_NOISE` against x = tr(HΣ₁), least squares across
all runs; the theory predicts slope 1 and intercept 0 (and, with the kink term, y against
x + kink/(½η²) likewise).

Intervals are 95% percentile intervals over :mod:`~empirical.analysis.resample` (seeds within lr
and the shared noise draws), conditional on the curvature estimates and the lr grid.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from empirical.analysis.requirement import SMALL_NOISE
from empirical.analysis.resample import percentile, replicates

#: name -> (label, cell key); ``with_kinks`` is the ΔL-equivalent ½η² tr(HΣ₁) + kink term
CANDIDATES = {
    "trace": ("tr(H)", "hessian_trace_test"),
    "noise_trace": ("tr(HΣ₁)", "trace"),  # the row's own noise model's
    "with_kinks": ("½η²tr(HΣ₁)+kink", "pk"),
    "lambda_max": ("λ_max", "lambda_max_train"),
    "weight_norm": ("‖w‖", "weight_norm"),
    "clean_loss": ("clean loss", "clean_loss"),
}
CONDITIONAL = ("bootstrap over seeds within each lr and over the shared noise draws; conditional on the "
               "curvature estimates (probes fixed) and the lr grid")  # fmt: skip


def within_lr(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` (..., n) centred within each group of ``groups`` (n,) along the last axis."""
    out = np.array(values, dtype=float, copy=True)
    for g in np.unique(groups):
        members = groups == g
        out[..., members] -= out[..., members].mean(axis=-1, keepdims=True)
    return out


def partial_r(groups: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Partial correlation of y and x controlling for the group as a category; y, x (..., n) -> (...).
    NaN where either has no within-group variation."""
    yc, xc = within_lr(groups, y), within_lr(groups, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (yc * xc).sum(-1) / np.sqrt((yc**2).sum(-1) * (xc**2).sum(-1))


def ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares y = a + b·x along the last axis: (slope b, intercept a), NaN without spread in x."""
    xm, ym = x.mean(-1, keepdims=True), y.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = ((x - xm) * (y - ym)).sum(-1) / ((x - xm) ** 2).sum(-1)
    return slope, ym[..., 0] - slope * xm[..., 0]


def explanatory(cells: list[dict[str, Any]], reps: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Per noise level and candidate: within-lr partial correlation r with ΔL and r², with intervals.
    A candidate the results lack (not finite in every run of the level) gets NaN and 0 replicates."""
    out = []
    for eta, cs in _by_level(cells):
        if len(cs) < 3:
            continue
        have = [name for name, (_, key) in CANDIDATES.items() if all(math.isfinite(c.get(key, math.nan)) for c in cs)]
        groups, y, x = _arrays(cs, [CANDIDATES[name][1] for name in have])
        point = partial_r(groups, y.mean(1), x.T)
        boot = replicates(groups, y, x, reps, rng)
        r_boot = partial_r(groups, boot.y[:, None, :], np.moveaxis(boot.x, 2, 1))  # (B, q)
        for name in CANDIDATES:
            row = {"noise_level": eta, "candidate": name, "runs": len(cs), "lrs": len(np.unique(groups)),
                   "draws": int(y.shape[1])}  # fmt: skip
            if name not in have:
                out.append({**row, **dict.fromkeys(("r", "r_ci_low", "r_ci_high", "r2", "r2_ci_low", "r2_ci_high"),
                                                   math.nan), "replicates": 0})  # fmt: skip
                continue
            j = have.index(name)
            low, high, used = percentile(r_boot[:, j])
            r2_low, r2_high, _ = percentile(r_boot[:, j] ** 2)
            out.append({**row, "r": float(point[j]), "r_ci_low": low, "r_ci_high": high, "r2": float(point[j] ** 2),
                        "r2_ci_low": r2_low, "r2_ci_high": r2_high, "replicates": used})  # fmt: skip
    return out


def slope(cells: list[dict[str, Any]], reps: int, rng: np.random.Generator) -> dict[str, Any]:
    """Per run y = mean over η ≤ SMALL_NOISE of ΔL/(½η²), regressed on tr(HΣ₁) (``second_order``) and on
    tr(HΣ₁) + kink/(½η²) (``with_kinks``): slopes and intercepts with intervals (theory: 1 and 0)."""
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        if c["noise_level"] <= SMALL_NOISE and math.isfinite(c["trace"]):
            runs[c["run_id"]].append(c)
    out: dict[str, Any] = {"max_noise_level": SMALL_NOISE, "runs": len(runs), "conditional_on": CONDITIONAL}
    rows = [_run_row(cs) for cs in runs.values()]
    rows = [r for r in rows if r is not None]
    draws = {r[1].shape[0] for r in rows}
    if len(rows) < 3 or len(draws) != 1:
        return {**out, "second_order": _fit_nan(), "with_kinks": _fit_nan()}
    groups = np.array([r[0] for r in rows])
    y = np.stack([r[1] for r in rows])  # (n, K)
    x = np.array([[r[2], r[3]] for r in rows])  # (n, 2)
    boot = replicates(groups, y, x, reps, rng)
    for j, name in enumerate(("second_order", "with_kinks")):
        b, a = ols(x[:, j], y.mean(1))
        bb, ab = ols(boot.x[:, :, j], boot.y)
        s_low, s_high, used = percentile(bb)
        i_low, i_high, _ = percentile(ab)
        out[name] = {"slope": float(b), "slope_ci_low": s_low, "slope_ci_high": s_high, "intercept": float(a),
                     "intercept_ci_low": i_low, "intercept_ci_high": i_high, "replicates": used,
                     "slope_ci_contains_1": bool(s_low <= 1 <= s_high),
                     "intercept_ci_contains_0": bool(i_low <= 0 <= i_high)}  # fmt: skip
    return out


def _fit_nan() -> dict[str, Any]:
    keys = ("slope", "slope_ci_low", "slope_ci_high", "intercept", "intercept_ci_low", "intercept_ci_high")
    return {**dict.fromkeys(keys, math.nan), "replicates": 0, "slope_ci_contains_1": False,
            "intercept_ci_contains_0": False}  # fmt: skip


def _run_row(cs: list[dict[str, Any]]) -> tuple[float, np.ndarray, float, float] | None:
    """(lr, y per draw (K,), tr(HΣ₁), tr(HΣ₁) + mean kink/(½η²)) of one run's small-η cells."""
    half = [0.5 * c["noise_level"] ** 2 for c in cs]
    draws = [_draws(c) / h for c, h in zip(cs, half)]
    if len({len(d) for d in draws}) != 1:
        return None
    kink = [c["kink"] / h if math.isfinite(c["kink"]) else math.nan for c, h in zip(cs, half)]
    t = cs[0]["trace"]
    return cs[0]["lr"], np.mean(draws, axis=0), t, t + float(np.mean(kink))


def _draws(c: dict[str, Any]) -> np.ndarray:
    """The cell's per-draw increases, or its mean ΔL as the only draw."""
    d = c.get("pair_increase")
    return np.asarray(d, float) if d is not None else np.array([c["delta_loss"]])


def _arrays(cs: list[dict[str, Any]], keys: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lr per run (n,), ΔL per draw (n, K), candidates (n, q)); K = 1 without equal per-draw increases."""
    draws = [_draws(c) for c in cs]
    if len({len(d) for d in draws}) != 1:
        draws = [np.array([c["delta_loss"]]) for c in cs]
    return np.array([c["lr"] for c in cs]), np.stack(draws), np.array([[c[k] for k in keys] for c in cs], float)


def _by_level(cells: list[dict[str, Any]]) -> list[tuple[float, list[dict[str, Any]]]]:
    levels: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        levels[c["noise_level"]].append(c)
    return sorted(levels.items())
