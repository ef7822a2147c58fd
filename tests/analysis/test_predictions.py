"""The theory's predictions per (run, level): which cells exist, their values, and a smooth network
where the second-order prediction must match the sweep's own Monte Carlo."""

from __future__ import annotations

import math

import pytest

from empirical.analysis.predictions import cells
from empirical.analysis.stats import compare
from empirical.experiment import evaluate
from empirical.experiment.run import torch_threads
from tests.analysis.records import LEVELS, LRS, SEEDS, rows, synthetic_records
from tests.curvature.problems import problem
from theory import predict


def test_cells_join_finished_runs_with_measured_levels():
    run_rows, noise_rows = rows(synthetic_records())
    noise_rows[0]["delta_loss"] = math.nan  # a level without a measurement has no cell
    c = cells(run_rows, noise_rows)
    assert len(c) == len(LRS) * len(SEEDS) * len(LEVELS) - 1 and 1.0 not in {x["lr"] for x in c}
    assert c == sorted(c, key=lambda x: (x["lr"], x["seed"], x["noise_level"]))
    x = next(x for x in c if x["run_id"] == "lr0.1_seed1" and x["noise_level"] == 0.2)
    assert x["seed"] == 1 and x["acc_drop"] == pytest.approx(x["clean_acc"] - x["noisy_acc_mean"])
    assert x["p2"] == pytest.approx(0.5 * 0.2**2 * x["noise_trace_test"])
    assert x["p2_se"] == pytest.approx(0.5 * 0.2**2 * x["noise_trace_test_se"])
    assert x["term4"] == pytest.approx(0.2**4 * x["fourth_moment_test"] / 24)
    assert x["p4"] == pytest.approx(x["p2"] + x["term4"])
    assert x["p4_se"] == pytest.approx(math.hypot(x["p2_se"], x["term4_se"]))
    assert all(y["pk"] == y["p2"] and y["kink"] == 0.0 for y in c)  # no kink term: exactly the second order
    assert "pair_increase" not in x


def test_cells_add_the_kink_term_and_carry_the_per_draw_increases():
    c = cells(*rows(synthetic_records(kink_share=0.3, pairs=10)))
    x = next(x for x in c if x["run_id"] == "lr0.01_seed1" and x["noise_level"] == 0.05)
    assert x["kink"] == pytest.approx(0.3 * x["p2"]) and x["kink_se"] == pytest.approx(0.05 * x["kink"])
    assert x["pk"] == pytest.approx(x["p2"] + x["kink"])
    assert x["pk_se"] == pytest.approx(math.hypot(x["p2_se"], x["kink_se"]))
    assert len(x["pair_increase"]) == 10 and x["pair_increase"].mean() == pytest.approx(x["delta_loss"])


def test_smooth_network_at_small_noise_matches_second_order():
    """The sweep's own Monte Carlo (empirical.experiment.evaluate) on a tanh MLP at η = 0.01 against the
    exact tr(HΣ₁)."""
    p = problem("mlp")
    scale = p.scale()
    exact = float((p.flat_scale(scale) ** 2 * p.H.diagonal()).sum())
    with torch_threads(1):
        level = evaluate.monte_carlo(p.model, p.x, p.y, scale, (0.01,), 1000, noise_seed=0, batch_size=100)[0]
    row = level.row()
    r = compare(row["delta_loss"], row["delta_loss_se"], float(predict.delta_loss_second_order(0.01, exact)), 0.0)
    assert r["ratio_se"] < 0.05 and abs(r["ratio"] - 1) <= 4 * r["ratio_se"], r


