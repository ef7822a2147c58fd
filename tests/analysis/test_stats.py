"""The statistics helpers against their formulas and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from empirical.analysis import stats
from empirical.analysis.equivalence import FAILS, HOLDS, UNDETERMINED
from empirical.analysis.intervals import fieller


def test_compare_gives_the_delta_method_error_and_fieller_interval():
    r = stats.compare(2.0, 0.1, 1.0, 0.05)
    se = math.sqrt(0.1**2 + 2.0**2 * 0.05**2)
    assert r["ratio"] == 2.0 and r["ratio_se"] == pytest.approx(se)
    assert (r["ratio_ci_low"], r["ratio_ci_high"]) == pytest.approx(fieller(2.0, 0.1, 1.0, 0.05))
    assert r["ratio_ci_high"] - 2.0 > 2.0 - r["ratio_ci_low"]  # skewed up: the denominator is uncertain
    assert not r["ci_contains_1"] and not r["within_10pct"] and r["rel_error"] == pytest.approx(-0.5)
    assert r["equivalence"] == FAILS
    near = stats.compare(1.0, 0.01, 1.05, 0.0)  # prediction 5% above: within 10%, CI excludes 1
    assert near["within_10pct"] and near["equivalence"] == HOLDS and not near["ci_contains_1"]
    for p in (0.0, -1.0, math.nan):
        bad = stats.compare(1.0, 0.1, p, 0.1)
        assert math.isnan(bad["ratio"]) and not bad["ci_contains_1"] and bad["equivalence"] == UNDETERMINED


def test_a_non_finite_error_is_undetermined_and_flagged_never_zero():
    for m_se, p_se in ((0.01, math.nan), (math.inf, 0.01)):
        r = stats.compare(1.0, m_se, 1.0, p_se)
        assert r["ratio"] == 1.0 and r["se_missing"] and r["equivalence"] == UNDETERMINED
        assert math.isnan(r["ratio_ci_low"]) and not r["ci_contains_1"]
    assert not stats.compare(1.0, 0.01, 1.0, 0.0)["se_missing"]


def test_mean_ci_is_the_student_t_interval_of_the_finite_values():
    values = [1.0, 2.0, 4.0, None, math.nan]
    got = stats.mean_ci(values)
    want = scipy_stats.t.interval(0.95, 2, loc=np.mean([1, 2, 4]), scale=scipy_stats.sem([1, 2, 4]))
    assert got["n"] == 3 and got["mean"] == pytest.approx(7 / 3)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx(want)
    one = stats.mean_ci([5.0, math.nan])
    assert one["mean"] == 5.0 and one["n"] == 1 and math.isnan(one["ci_low"])
    assert stats.mean_ci([None])["n"] == 0


def test_line_fit_recovers_a_line_and_needs_two_distinct_x():
    fit = stats.line_fit([1, 2, 3, 4], [3, 5, 7.2, 9])
    ref = scipy_stats.linregress([1, 2, 3, 4], [3, 5, 7.2, 9])
    assert (fit["slope"], fit["slope_se"], fit["r2"]) == pytest.approx((ref.slope, ref.stderr, ref.rvalue**2))
    assert math.isnan(stats.line_fit([1, 1], [2, 3])["slope"])  # no spread in x
    assert math.isnan(stats.line_fit([1, 2], [2, 3])["slope_se"])  # two points: no error
