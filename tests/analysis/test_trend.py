"""``empirical.analysis.trend``: Spearman's ρ over lr means and its bootstrap direction."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.analysis.resample import replicates
from empirical.analysis.trend import FALLS, FLAT, RISES, direction, lr_means, spearman, trend


def test_spearman_of_monotone_means_is_plus_or_minus_one_and_nan_without_spread():
    assert spearman(np.array([1.0, 2.0, 5.0])) == pytest.approx(1.0)
    assert spearman(np.array([5.0, 2.0, 1.0])) == pytest.approx(-1.0)
    assert spearman(np.array([[1.0, 3.0, 2.0]]))[0] == pytest.approx(0.5)
    assert np.isnan(spearman(np.array([2.0, 2.0, 2.0])))


def test_direction_reads_the_interval():
    assert direction(0.1, 1.0) == RISES and direction(-1.0, -0.2) == FALLS
    assert direction(-0.5, 0.5) == FLAT and direction(float("nan"), float("nan")) == FLAT


def _trend(means: list[float], noise: float, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(means)), 4).astype(float)
    y = np.repeat(means, 4)[:, None] + noise * rng.standard_normal((len(groups), 30))
    boot = replicates(groups, y, np.zeros((len(groups), 1)), 400, rng)
    return trend(groups, y.mean(1), boot.y)


def test_a_clear_rise_is_resolved_and_pure_noise_is_not():
    up = _trend([1.0, 2.0, 3.0, 4.0], noise=0.1)
    assert up["direction"] == RISES and up["rho"] == pytest.approx(1.0)
    assert [e["mean"] for e in up["per_lr"]] == pytest.approx([1, 2, 3, 4], abs=0.1)
    assert all(0 < e["se"] < 0.1 for e in up["per_lr"])
    assert _trend([4.0, 3.0, 2.0, 1.0], noise=0.1)["direction"] == FALLS
    assert _trend([1.0, 1.0, 1.0, 1.0], noise=1.0)["direction"] == FLAT


def test_lr_means_average_each_group():
    lrs, means = lr_means(np.array([0.1, 0.01, 0.1]), np.array([1.0, 5.0, 3.0]))
    assert lrs.tolist() == [0.01, 0.1] and means.tolist() == [5.0, 2.0]
