"""The statistics every comparison uses: t-intervals, the ratio comparison, line fits.

Every interval is two-sided 95%. Values from result rows may be missing (None, ``''``) or NaN;
:func:`num` turns them into floats and the helpers skip what is not finite where they say so.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
from scipy import stats

from empirical.analysis import intervals
from empirical.analysis.equivalence import BAND, equivalence


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
    """Ratio R = measured/predicted, its delta-method standard error √(se_m² + R²·se_p²)/p and its
    95% Fieller interval (:func:`~empirical.analysis.intervals.fieller`; the two errors independent).

    R is defined for a finite, positive prediction (NaN otherwise). A non-finite error makes the
    interval undetermined and sets ``se_missing``; it is never read as 0. Flags as :func:`ratio_entry`;
    ``rel_error`` = (p − m)/|m|.
    """
    ratio = ratio_se = math.nan
    low, high = intervals.NAN_PAIR
    if finite(measured, predicted) and predicted > 0:
        ratio = measured / predicted
        ratio_se = math.sqrt(measured_se**2 + ratio**2 * predicted_se**2) / predicted
        low, high = intervals.fieller(measured, measured_se, predicted, predicted_se)
    missing = math.isfinite(ratio) and not finite(measured_se, predicted_se)
    return {
        **ratio_entry(ratio, ratio_se, low, high, se_missing=missing),
        "rel_error": (predicted - measured) / abs(measured) if finite(measured, predicted) and measured else math.nan,
    }


def ratio_entry(ratio: float, ratio_se: float, low: float, high: float, *, se_missing: bool = False) -> dict[str, Any]:
    """A ratio R = measured/predicted with its standard error and 95% interval [low, high], and its flags.

    ``within_10pct``: the point R is in the ±10% band (:data:`~empirical.analysis.equivalence.BAND`);
    ``equivalence``: holds / fails / undetermined from the interval
    (:func:`~empirical.analysis.equivalence.equivalence`); ``ci_contains_1``: the interval holds 1;
    ``se_missing``: an input error was not finite, so the interval is undetermined.
    """
    return {
        "ratio": ratio,
        "ratio_se": ratio_se,
        "ratio_ci_low": low,
        "ratio_ci_high": high,
        "within_10pct": bool(math.isfinite(ratio) and BAND[0] <= ratio <= BAND[1]),
        "equivalence": equivalence(low, high),
        "ci_contains_1": bool(finite(low, high) and low <= 1 <= high),
        "se_missing": bool(se_missing),
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
