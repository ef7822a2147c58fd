"""Tests for empirical.bench.intervals: textbook values, and coverage on synthetic data with a known answer."""

from __future__ import annotations

import math

import pytest
import torch
from scipy import stats

from empirical.bench.intervals import log_variance_var, ratio_interval, wilson


@pytest.mark.parametrize(
    "k, n, low, high",  # Wilson 95% intervals as tabulated by Newcombe (1998), Table I
    [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (5, 10, 0.2366, 0.7634), (81, 263, 0.2553, 0.3662)],
)
def test_wilson_matches_tabulated_values(k, n, low, high):
    ci = wilson(k, n)
    assert ci.value == k / n and ci.n == n
    assert (ci.low, ci.high) == pytest.approx((low, high), abs=1e-4)


def test_wilson_covers_the_true_fraction_at_its_level():
    n = 40
    cis = [wilson(k, n) for k in range(n + 1)]
    coverage = [  # exact: the binomial probability of the outcomes whose interval holds p
        sum(stats.binom.pmf(k, n, p) for k, ci in enumerate(cis) if ci.low <= p <= ci.high)
        for p in [i / 20 for i in range(1, 20)]
    ]
    assert sum(coverage) / len(coverage) == pytest.approx(0.95, abs=0.005)
    assert min(coverage) > 0.92  # Wilson oscillates mildly; the normal (Wald) interval drops to 0.87 here


def test_ratio_interval_by_hand():
    ci = ratio_interval([math.e**2, math.e**4], [1.0, 1.0])  # d = 2, 4: mean 3, sd √2, t(1 dof) = 12.706
    assert ci.value == pytest.approx(math.e**3)
    assert (math.log(ci.low), math.log(ci.high)) == pytest.approx((3 - 12.7062, 3 + 12.7062), abs=1e-4)
    wider = ratio_interval([math.e**2, math.e**4], [1.0, 1.0], v=1.0)  # √(2/2 + 1) = √2, 1·(1 + 1)² = 4 dof
    assert math.log(wider.high) - 3 == pytest.approx(2.7764 * math.sqrt(2), abs=1e-3)


def test_ratio_interval_covers_a_known_speedup():
    g = torch.Generator().manual_seed(1)
    true, repeats, trials = 7.0, 5, 1000
    base = 0.5 + torch.rand(trials, repeats, generator=g, dtype=torch.float64)  # our seconds, any positive values
    other = base * true * torch.exp(0.3 * torch.randn(trials, repeats, generator=g, dtype=torch.float64))
    cis = [ratio_interval(a.tolist(), b.tolist()) for a, b in zip(other, base)]
    covered = sum(ci.low <= true <= ci.high for ci in cis) / trials
    assert abs(covered - 0.95) < 3 * math.sqrt(0.95 * 0.05 / trials)  # the t-interval is exact here
    assert math.exp(sum(math.log(ci.value) for ci in cis) / trials) == pytest.approx(true, rel=0.01)


@pytest.mark.parametrize("kind, kurtosis", [("normal", 3.0), ("uniform", 1.8)])
def test_log_variance_var_predicts_the_spread_of_log_sample_variance(kind, kurtosis):
    g = torch.Generator().manual_seed(2)
    shape, n = (3000, 400), 400
    draws = torch.randn(shape, generator=g, dtype=torch.float64) if kind == "normal" else torch.rand(
        shape, generator=g, dtype=torch.float64)  # fmt: skip
    spread = draws.var(dim=1).log().var().item()
    predicted = sum(log_variance_var(row.tolist()) for row in draws[:300]) / 300
    assert predicted == pytest.approx((kurtosis - 1) / n, rel=0.05)
    assert spread == pytest.approx(predicted, rel=0.1)  # 3000 draws: the spread itself is within ~3%


def test_log_variance_var_is_zero_for_two_point_samples():
    assert log_variance_var([1.0, -1.0, 1.0, -1.0]) == 0.0  # Rademacher: κ = 1, σ̂² exact


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: wilson(3, 2), "Got 3 of 2"),
        (lambda: wilson(1, 2, level=1.5), "level must be in"),
        (lambda: ratio_interval([1.0], [1.0]), "two or more pairs"),
        (lambda: ratio_interval([1.0, 0.0], [1.0, 1.0]), "must be > 0"),
        (lambda: log_variance_var([1.0]), "two or more samples"),
    ],
)
def test_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_ratio_interval_with_an_estimated_common_factor_covers():
    """The speed-up's shape: a_r = b_r · S · e^{ε_r} · σ̂²/σ², σ̂² from N samples common to every repeat."""
    g = torch.Generator().manual_seed(3)
    true, repeats, n, trials = 7.0, 5, 150, 1000
    base = 0.5 + torch.rand(trials, repeats, generator=g, dtype=torch.float64)
    samples = torch.randn(trials, n, generator=g, dtype=torch.float64)
    factor = samples.var(dim=1, keepdim=True)  # σ² = 1
    other = base * true * factor * torch.exp(0.1 * torch.randn(trials, repeats, generator=g, dtype=torch.float64))
    cis = [ratio_interval(a.tolist(), b.tolist(), v=log_variance_var(s.tolist())) for a, b, s in
           zip(other, base, samples)]  # fmt: skip
    covered = sum(ci.low <= true <= ci.high for ci in cis) / trials
    assert abs(covered - 0.95) < 3 * math.sqrt(0.95 * 0.05 / trials)
    plain = [ratio_interval(a.tolist(), b.tolist()) for a, b in zip(other, base)]
    assert sum(ci.low <= true <= ci.high for ci in plain) / trials < 0.8  # leaving v out undercovers
