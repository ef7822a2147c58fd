"""Pooled ratios over cells that share their noise draws: exact on constructed cells, calibrated where
the draws are shared (where treating the cells as independent is not), and the fallback without draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from empirical.analysis.intervals import Z95
from empirical.analysis.pooling import COMMON, INDEPENDENT, pooled
from empirical.analysis.stats import compare


def _cell(d: np.ndarray | None, p: float, p_se: float, m: float | None = None, m_se: float | None = None) -> dict:
    """A cell with per-pair increases ``d`` (or only their mean ``m`` ± ``m_se``) and prediction p ± p_se."""
    if d is not None:
        m, m_se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))
    cell = {"delta_loss": m, "delta_loss_se": m_se, "p2": p, "p2_se": p_se}
    return cell if d is None else {**cell, "pair_increase": d}


def test_one_cell_is_the_per_run_comparison():
    d = np.random.default_rng(0).gamma(2.0, 1.0, size=50)
    c = _cell(d, 1.7, 0.05)
    for cell in (c, {k: v for k, v in c.items() if k != "pair_increase"}):
        got, want = pooled([cell], "p2"), compare(c["delta_loss"], c["delta_loss_se"], 1.7, 0.05)
        assert got["ratio"] == pytest.approx(want["ratio"]) and got["ratio_se"] == pytest.approx(want["ratio_se"])
        assert got["ci_contains_1"] == want["ci_contains_1"] and got["cells"] == 1


def test_a_fluctuation_shared_by_every_cell_does_not_average_out():
    u = np.random.default_rng(1).standard_normal(40)
    cells = [_cell(m * (1 + 0.2 * u), p, 0.0) for m, p in ((1.0, 1.0), (2.0, 2.5), (3.0, 2.0))]
    got = pooled(cells, "p2")
    ratios = [1.0, 0.8, 1.5]
    assert got["pooling"] == COMMON and got["pairs"] == 40 and got["cells"] == 3
    assert got["ratio"] == pytest.approx(np.mean(ratios) * (1 + 0.2 * u.mean()))
    assert got["ratio_se"] == pytest.approx(np.mean(ratios) * 0.2 * u.std(ddof=1) / math.sqrt(40))
    assert got["measured_se"] == pytest.approx(2.0 * 0.2 * u.std(ddof=1) / math.sqrt(40))  # mean of m: 2
    apart = pooled([{k: v for k, v in c.items() if k != "pair_increase"} for c in cells], "p2")
    assert apart["pooling"] == INDEPENDENT and apart["ratio_se"] < 0.7 * got["ratio_se"]  # too narrow


def _coverage(reps: int, shared: bool, off: float) -> float:
    """How often the pooled 95% interval holds the true ratio 1: 6 cells × 200 draws, d_ck/p_c =
    1 + 0.5 g_k + 0.2 e_ck (g shared), predictions off by a common factor 1 + off·h (reported se off·p)."""
    rng = np.random.default_rng(2)
    p = np.array([0.5, 1.0, 2.0, 3.0, 4.0, 8.0])
    hits = 0
    for _ in range(reps):
        d = p[:, None] * (1 + 0.5 * rng.standard_normal(200) + 0.2 * rng.standard_normal((6, 200)))
        estimate = p * (1 + off * rng.standard_normal())
        cells = [_cell(dc, pc, off * pc) for dc, pc in zip(d, estimate)]
        if not shared:
            cells = [{k: v for k, v in c.items() if k != "pair_increase"} for c in cells]
        got = pooled(cells, "p2")
        hits += abs(got["ratio"] - 1) <= Z95 * got["ratio_se"]
    return hits / reps


def test_draw_by_draw_intervals_are_calibrated_where_independent_ones_are_not():
    assert 0.93 <= _coverage(1000, shared=True, off=0.03) <= 0.97  # 95% ± 3 binomial SEs
    assert 0.93 <= _coverage(1000, shared=True, off=0.0) <= 0.97
    assert _coverage(300, shared=False, off=0.0) < 0.75  # the same cells treated as independent: far too narrow


def test_cells_without_a_positive_prediction_are_left_out_and_unequal_draws_fall_back():
    d = np.linspace(0.5, 1.5, 10)
    good = _cell(d, 1.0, 0.0)
    assert pooled([good, _cell(d, 0.0, 0.0), _cell(d, math.nan, 0.0)], "p2")["cells"] == 1
    assert pooled([good, _cell(d[:8], 1.0, 0.0)], "p2")["pooling"] == INDEPENDENT
    none = pooled([_cell(d, -1.0, 0.0)], "p2")
    assert none["cells"] == 0 and math.isnan(none["ratio"]) and not none["ci_contains_1"]


def test_a_non_finite_prediction_error_leaves_the_pooled_interval_undetermined_and_flagged():
    d = np.linspace(0.5, 1.5, 10)
    got = pooled([_cell(d, 1.0, 0.01), _cell(d, 1.0, math.nan)], "p2")
    assert got["se_missing"] and got["equivalence"] == "undetermined" and not got["ci_contains_1"]
    assert math.isnan(got["ratio_ci_low"]) and got["ratio"] == pytest.approx(1.0)
    assert not pooled([_cell(d, 1.0, 0.01)], "p2")["se_missing"]


def test_the_pooled_interval_is_the_log_ratio_interval():
    d = np.random.default_rng(3).gamma(4.0, 0.25, size=(2, 80))
    got = pooled([_cell(d[0], 1.0, 0.0), _cell(d[1], 2.0, 0.0)], "p2")
    rel = got["ratio_se"] / got["ratio"]
    assert got["ratio_ci_low"] == pytest.approx(got["ratio"] * math.exp(-Z95 * rel))
    assert got["ratio_ci_high"] == pytest.approx(got["ratio"] * math.exp(Z95 * rel))
