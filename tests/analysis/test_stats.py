"""The statistics helpers against their formulas and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from empirical.analysis import stats


def test_compare_is_the_delta_method():
    r = stats.compare(2.0, 0.1, 1.0, 0.05)
    se = math.sqrt(0.1**2 + 2.0**2 * 0.05**2)
    assert r["ratio"] == 2.0 and r["ratio_se"] == pytest.approx(se)
    assert (r["ratio_ci_low"], r["ratio_ci_high"]) == pytest.approx((2 - 1.959964 * se, 2 + 1.959964 * se))
    assert not r["ci_contains_1"] and not r["within_10pct"] and r["rel_error"] == pytest.approx(-0.5)
    near = stats.compare(1.0, 0.01, 1.05, 0.0)  # prediction 5% above: within 10%, CI excludes 1
    assert near["within_10pct"] and near["compatible_10pct"] and not near["ci_contains_1"]
    assert not stats.compare(1.0, 0.01, 1.2, 0.0)["compatible_10pct"]
    for p in (0.0, -1.0, math.nan):
        bad = stats.compare(1.0, 0.1, p, 0.1)
        assert math.isnan(bad["ratio"]) and not bad["ci_contains_1"]


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


def test_spearman_rows_match_scipy():
    g = np.random.default_rng(0)
    a, b = g.normal(size=(5, 7)), g.normal(size=(5, 7))
    b[0] = a[0] ** 3  # monotone: ρ = 1
    got = stats.spearman_rows(a, b)
    want = [scipy_stats.spearmanr(x, y).statistic for x, y in zip(a, b)]
    assert got == pytest.approx(want) and got[0] == pytest.approx(1.0)
    assert math.isnan(stats.spearman_rows(np.ones((1, 4)), a[:1, :4])[0])


def test_bootstrap_resamples_seeds_within_each_learning_rate():
    per_lr = [np.array([[0.0], [2.0]]), np.array([[10.0], [10.0], [13.0]])]
    means = stats.Bootstrap(4000, seed=0).means(per_lr)
    assert means.shape == (4000, 2, 1)
    assert set(np.unique(means[:, 0, 0])) <= {0.0, 1.0, 2.0}  # means of two draws from {0, 2}
    assert means[:, 0, 0].mean() == pytest.approx(1.0, abs=0.05)
    assert means[:, 1, 0].mean() == pytest.approx(11.0, abs=0.05)
    again = stats.Bootstrap(4000, seed=0).means(per_lr)
    assert np.array_equal(means, again)
