"""Ratio intervals: Fieller's exact set and the log-ratio interval, by hand and by coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from empirical.analysis.intervals import Z95, fieller, log_ratio


def test_fieller_without_a_denominator_error_is_the_plain_interval():
    low, high = fieller(2.0, 0.1, 4.0, 0.0)
    assert (low, high) == pytest.approx((0.5 - Z95 * 0.1 / 4, 0.5 + Z95 * 0.1 / 4))


def test_fieller_solves_its_defining_inequality_at_both_ends():
    m, sm, p, sp = 3.0, 0.4, 2.0, 0.3
    for rho in fieller(m, sm, p, sp):
        assert (m - rho * p) ** 2 == pytest.approx(Z95**2 * (sm**2 + rho**2 * sp**2))


def test_fieller_is_undetermined_when_the_denominator_is_not_significant_or_an_error_is_unknown():
    assert all(math.isnan(x) for x in fieller(1.0, 0.1, 1.0, 0.6))  # p/se_p = 1.7 < 1.96
    assert all(math.isnan(x) for x in fieller(1.0, math.nan, 1.0, 0.1))
    assert all(math.isnan(x) for x in fieller(1.0, 0.1, 1.0, math.inf))


def test_fieller_covers_95_percent_where_the_delta_method_does_not():
    """m ~ N(ρp, 0.05), p̂ ~ N(p, 0.35p), ρ = 1: Fieller is exact; the symmetric delta-method interval
    m/p̂ ± 1.96 se misses more often than 5% and unevenly."""
    rng = np.random.default_rng(0)
    hits = delta_hits = 0
    reps = 4000
    for _ in range(reps):
        m, p = 1.0 + 0.05 * rng.standard_normal(), 1.0 + 0.35 * rng.standard_normal()
        low, high = fieller(m, 0.05, p, 0.35)
        if math.isfinite(low):
            hits += low <= 1 <= high
        else:  # unbounded set: it holds 1 iff the defining inequality does
            hits += (m - p) ** 2 <= Z95**2 * (0.05**2 + 0.35**2)
        if p > 0:
            r = m / p
            se = math.sqrt(0.05**2 + r**2 * 0.35**2) / p
            delta_hits += abs(r - 1) <= Z95 * se
    assert 0.935 <= hits / reps <= 0.965  # 95% ± 3.5 binomial SEs
    assert delta_hits / reps < 0.93


def test_log_ratio_is_symmetric_on_the_log_scale_and_undetermined_when_it_must_be():
    low, high = log_ratio(2.0, 0.1)
    assert math.log(high / 2.0) == pytest.approx(-math.log(low / 2.0)) == pytest.approx(Z95 * 0.1)
    assert low > 0
    for ratio, rel in ((-1.0, 0.1), (0.0, 0.1), (1.0, math.nan), (math.nan, 0.1)):
        assert all(math.isnan(x) for x in log_ratio(ratio, rel))
