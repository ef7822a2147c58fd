"""Which curvature explains robustness: Spearman ρ across learning rates and its bootstrap interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from empirical.analysis import ranking
from empirical.analysis.predictions import cells
from empirical.analysis.stats import Bootstrap
from tests.analysis.records import LEVELS, rows, synthetic_records


def test_spearman_on_synthetic_rows_finds_the_built_in_ranks():
    got = ranking.spearman(cells(*rows(synthetic_records())), Bootstrap(300, seed=0))
    assert len(got) == len(LEVELS) * 2 * 2
    for r in got:
        assert set(r) >= {"noise_level", "curvature", "target", "rho", "ci_low", "ci_high"}
        assert r["ci_low"] <= r["rho"] <= r["ci_high"] and r["lrs"] == 4 and r["bootstrap"] == 300
    sp = {(r["noise_level"], r["curvature"], r["target"]): r for r in got}
    assert sp[(0.2, "noise_trace", "delta_loss")]["rho"] == pytest.approx(1.0)
    assert sp[(0.2, "trace", "delta_loss")]["rho"] == pytest.approx(-1.0)


def _cells(target: np.ndarray, curvature: np.ndarray) -> list[dict]:
    """Cells at one level from per-(lr, seed) arrays, shape (n_lr, n_seeds)."""
    return [{"noise_level": 0.1, "lr": float(i), "seed": s, "hessian_trace_test": float(curvature[i, s]),
             "noise_trace_test": float(curvature[i, s]), "delta_loss": float(target[i, s]),
             "acc_drop": float(target[i, s])}  # fmt: skip
            for i in range(target.shape[0]) for s in range(target.shape[1])]


def test_bootstrap_interval_is_wide_without_a_relation_and_narrow_with_one():
    g = np.random.default_rng(1)
    n_lr, n_seeds = 8, 4
    curvature = np.arange(n_lr)[:, None] + 0.01 * g.normal(size=(n_lr, n_seeds))
    unrelated = g.normal(size=(n_lr, n_seeds))  # seed scatter only: no rank order across lrs
    related = 0.5 * np.arange(n_lr)[:, None] + g.normal(size=(n_lr, n_seeds))  # a trend under the same scatter
    loose = ranking.spearman(_cells(unrelated, curvature), Bootstrap(2000, seed=0))[0]
    tight = ranking.spearman(_cells(related, curvature), Bootstrap(2000, seed=0))[0]
    assert loose["ci_low"] < 0 < loose["ci_high"] and loose["ci_high"] - loose["ci_low"] > 0.5
    assert 0.5 < tight["ci_low"] <= tight["rho"] <= tight["ci_high"] < 1.0


def test_spearman_needs_three_learning_rates():
    two = ranking.spearman(_cells(np.ones((2, 3)), np.ones((2, 3))), Bootstrap(10, seed=0))
    assert all(math.isnan(r["rho"]) and math.isnan(r["ci_low"]) for r in two)
