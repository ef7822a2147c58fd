"""The statistics every comparison uses: t-intervals, ratio comparison, line fits, ranks, bootstrap.

Every interval is two-sided 95%. Values from result rows may be missing (None, ``''``) or NaN;
:func:`num` turns them into floats and the helpers skip what is not finite where they say so.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
from scipy import stats

Z95 = 1.959963984540054  # standard normal 97.5% quantile
WITHIN = 0.10  # a prediction "agrees" when |predicted − measured| ≤ 10% of |measured|


def num(value: Any) -> float:
    """A finite-or-NaN float from a record value (None, '' and non-numbers become NaN)."""
    if value is None or isinstance(value, bool) or value == "":
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def finite(*values: float) -> bool:
    """Whether every value is a finite number."""
    return all(math.isfinite(v) for v in values)


def median(values: Iterable[float]) -> float:
    """Median of the finite values; NaN if none."""
    v = [x for x in values if math.isfinite(x)]
    return float(np.median(v)) if v else math.nan


def fraction(flags: list[bool]) -> float:
    """Share of true flags; NaN for none."""
    return sum(flags) / len(flags) if flags else math.nan


def mean_ci(values: list[float | None], confidence: float = 0.95) -> dict[str, float]:
    """Mean and Student-t interval of the finite ``values``; ``n`` counts them (NaN interval for n < 2)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    n = len(v)
    if n == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    mean = float(v.mean())
    if n < 2:
        return {"mean": mean, "ci_low": math.nan, "ci_high": math.nan, "n": 1}
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def compare(measured: float, measured_se: float, predicted: float, predicted_se: float) -> dict[str, Any]:
    """Ratio R = measured/predicted with its delta-method standard error and 95% interval; agreement flags.

    se(R) = √(se_m² + R²·se_p²)/p (the two errors independent; a missing se_p counts as 0). R is
    defined for a finite, positive prediction (NaN otherwise). Flags as :func:`ratio_interval`;
    ``rel_error`` = (p − m)/|m|.
    """
    ratio = ratio_se = math.nan
    if finite(measured, predicted) and predicted > 0:
        ratio = measured / predicted
        pse = predicted_se if math.isfinite(predicted_se) else 0.0
        if math.isfinite(measured_se):
            ratio_se = math.sqrt(measured_se**2 + ratio**2 * pse**2) / predicted
    return {
        **ratio_interval(ratio, ratio_se),
        "rel_error": (predicted - measured) / abs(measured) if finite(measured, predicted) and measured else math.nan,
    }


def ratio_interval(ratio: float, ratio_se: float) -> dict[str, Any]:
    """A ratio R = measured/predicted ± se as its 95% normal interval and agreement flags.

    ``within_10pct``: |p − m| ≤ 0.1·|m|, i.e. R in [1/1.1, 1/0.9]; ``compatible_10pct``: the
    interval meets that band; ``ci_contains_1``: it holds 1.
    """
    low, high = ratio - Z95 * ratio_se, ratio + Z95 * ratio_se
    return {
        "ratio": ratio,
        "ratio_se": ratio_se,
        "ratio_ci_low": low,
        "ratio_ci_high": high,
        "within_10pct": bool(math.isfinite(ratio) and 1 / (1 + WITHIN) <= ratio <= 1 / (1 - WITHIN)),
        "compatible_10pct": bool(finite(low, high) and low <= 1 / (1 - WITHIN) and high >= 1 / (1 + WITHIN)),
        "ci_contains_1": bool(finite(low, high) and low <= 1 <= high),
    }


def line_fit(x: Iterable[float], y: Iterable[float]) -> dict[str, float]:
    """Least squares y = intercept + slope·x: slope with its standard error, intercept, R², n."""
    x, y = np.asarray(list(x), float), np.asarray(list(y), float)
    n = len(x)
    out = {"slope": math.nan, "slope_se": math.nan, "intercept": math.nan, "r2": math.nan, "n": n}
    if n < 2 or np.ptp(x) == 0:
        return out
    res = stats.linregress(x, y)
    out.update(slope=float(res.slope), intercept=float(res.intercept), r2=float(res.rvalue**2))
    out["slope_se"] = float(res.stderr) if n > 2 else math.nan
    return out


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman ρ between the rows of a and b, shape (B, n) each -> (B,); NaN for a constant row."""
    ra, rb = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(1) / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))


class Bootstrap:
    """Resample seeds within each learning rate: per-lr means of per-seed values over ``reps`` replicates.

    One generator (``seed``) serves every call, so results depend on the order of the calls.
    """

    def __init__(self, reps: int, seed: int) -> None:
        self.reps, self.rng = reps, np.random.default_rng(seed)

    def means(self, per_lr: list[np.ndarray]) -> np.ndarray:
        """per_lr[i]: (seeds_i, Q) values -> (reps, n_lr, Q) bootstrap means (same draws for all Q)."""
        out = []
        for values in per_lr:
            idx = self.rng.integers(0, len(values), size=(self.reps, len(values)))
            out.append(values[idx].mean(axis=1))
        return np.stack(out, axis=1)
