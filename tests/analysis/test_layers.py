"""``empirical.analysis.layers``: additivity, rank agreement and dominance from layers.csv rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from empirical.analysis.layers import kendall_tau, layer_summary

LAYERS = ("a", "b", "c", "d")
SHARES = np.array([0.1, 0.2, 0.3, 0.4])


def _inputs(runs: int, scale: float, flip_rank: bool = False) -> tuple[list[dict], list[dict]]:
    """Per run, layers whose measured ΔL is ``scale`` × the share × ΔL_all = 0.01, predicted the exact share."""
    rows, cells = [], []
    for k in range(runs):
        run_id, lr = f"r{k}", (0.01, 0.1)[k % 2]
        cells.append({"run_id": run_id, "noise_model": "layer-relative", "noise_level": 0.05, "delta_loss": 0.01,
                      "delta_loss_se": 1e-5, "p2": 0.01, "pk": float("nan")})  # fmt: skip
        measured = scale * SHARES[::-1] if flip_rank else scale * SHARES
        for name, m, p in zip(LAYERS, measured * 0.01, SHARES * 0.01):
            rows.append({"run_id": run_id, "lr": lr, "seed": k, "noise_model": "layer-relative", "layer": name,
                         "noise_level": 0.05, "predicted": p, "predicted_se": 1e-6, "measured": m,
                         "measured_se": 1e-6})  # fmt: skip
    return rows, cells


def test_kendall_tau_matches_scipy_with_ties_and_is_nan_without_spread():
    x, y = np.array([1.0, 2.0, 2.0, 4.0, 3.0]), np.array([2.0, 1.0, 3.0, 5.0, 5.0])
    assert kendall_tau(x, y) == pytest.approx(stats.kendalltau(x, y).statistic)
    assert np.isnan(kendall_tau(np.ones(3), np.arange(3.0)))


def test_layers_that_add_up_hold_and_half_of_them_fail():
    s = layer_summary(*_inputs(4, 1.0), 200, np.random.default_rng(0))
    (lv,) = s["per_level"]
    assert lv["additivity_median_ratio"] == pytest.approx(1.0) and (lv["holds"], lv["with_full"]) == (4, 4)
    assert lv["kendall_tau"] == pytest.approx(1.0) and lv["kendall_runs"] == 4
    assert [e["measured_share"] for e in lv["layers"]] == pytest.approx(SHARES)
    assert "Dominant layer measured d" in s["verdict"][0]
    half = layer_summary(*_inputs(4, 0.5), 200, np.random.default_rng(0))["per_level"][0]
    assert half["additivity_median_ratio"] == pytest.approx(0.5) and half["fails"] == 4


def test_reversed_ranks_give_tau_minus_one_and_per_lr_means():
    s = layer_summary(*_inputs(4, 1.0, flip_rank=True), 200, np.random.default_rng(0))
    lv = s["per_level"][0]
    assert lv["kendall_tau"] == pytest.approx(-1.0) and lv["kendall_tau_ci_high"] == pytest.approx(-1.0)
    assert {(e["lr"], e["seeds"]) for e in s["per_lr"]} == {(0.01, 2), (0.1, 2)}
    assert len(s["per_lr"]) == 2 * len(LAYERS)
