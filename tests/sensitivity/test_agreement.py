"""Additivity paired draw by draw, and Kendall τ with its bootstrap interval."""

import math

import numpy as np
import pytest

from empirical.experiment import evaluate, noise
from empirical.sensitivity import agreement
from empirical.sensitivity.layers import layer_monte_carlo


def _check(model, x, y, eta, samples):
    scales = noise.scale(model, "layer-relative", noise.targets(model))
    overall = evaluate.monte_carlo(model, x, y, scales, (eta,), samples, 0, 5)[0]
    layers = [layer_monte_carlo(model, x, y, scales, n, (eta,), samples, 0, 5)[0] for n in scales]
    return agreement.additivity(overall, layers), scales


def test_separable_quadratic_adds_up_draw_by_draw(quadratic):
    check, _ = _check(*quadratic(coupled=False), eta=0.5, samples=8)
    assert check.pairs == 4 and check.overall > 0
    assert abs(check.difference) < 1e-12 * check.overall and check.difference_se < 1e-12 * check.overall


def test_coupled_quadratic_adds_up_in_expectation(quadratic):
    check, _ = _check(*quadratic(coupled=True), eta=0.5, samples=200)
    assert check.difference_se > 1e-3 * check.overall  # the cross-layer terms vary draw by draw
    assert abs(check.difference) < 4 * check.difference_se


def test_a_cross_layer_fourth_order_term_breaks_additivity_by_its_exact_amount(quadratic):
    model, x, y = quadratic(coupled=False, coupling=0.5)
    check, scales = _check(model, x, y, eta=1.0, samples=200)
    exact = -0.5 * 1.0**4 * float(scales["first_weight"].square().sum() * scales["second_weight"].square().sum())
    assert check.difference < -4 * check.difference_se
    assert abs(check.difference - exact) < 4 * check.difference_se


def test_kendall_tau_b_is_scipys_with_ties_and_row_by_row():
    from scipy import stats

    rng = np.random.default_rng(0)
    a = np.array([1.0, 2.0, 2.0, 4.0, 0.5])
    rows = rng.integers(0, 3, (20, 5)).astype(float)  # many ties
    rows = rows[[len(set(r)) > 1 for r in rows]]
    taus = agreement.kendall(a, rows)
    assert taus.shape == (len(rows),)
    for tau, row in zip(taus, rows):
        assert tau == pytest.approx(stats.kendalltau(a, row).statistic, abs=1e-12)
    assert agreement.kendall(a, -a) == pytest.approx(-1.0)
    assert math.isnan(agreement.kendall(a, np.ones(5))) and math.isnan(agreement.kendall(a[:1], a[:1]))


def test_rank_interval_is_tight_for_separated_layers_and_wide_for_overlapping_ones():
    rng = np.random.default_rng(0)
    predicted = np.array([1.0, 2.0, 3.0])
    separated = predicted[:, None] + 0.01 * rng.standard_normal((3, 50))
    r = agreement.rank_agreement(0.1, predicted, separated, seed=0, resamples=200)
    assert (r.tau, r.low, r.high) == (1.0, 1.0, 1.0)
    overlapping = predicted[:, None] + 10 * rng.standard_normal((3, 50))
    r = agreement.rank_agreement(0.1, predicted, overlapping, seed=0, resamples=200)
    assert r.low < 0 < r.high and r.resamples == 200 and r.confidence == 0.95


def test_shares_and_dominant_layers():
    values = {"a": 1.0, "b": 6.0, "c": 3.0}
    assert agreement.shares(values) == {"b": 0.6, "c": 0.3, "a": 0.1}
    assert agreement.dominant(values) == ["b"]
    assert agreement.dominant(values, fraction=0.8) == ["b", "c"]
    assert math.isnan(agreement.shares({"a": 0.0})["a"])
