"""Second- and fourth-order ΔL predictions against the measurement: exact agreement on a quadratic,
the contract rows, fits, pooling, breakdown levels and the agreement summary on constructed data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from empirical import analysis
from empirical.analysis import orders, pooling
from empirical.analysis.predictions import cells
from empirical.analysis.stats import compare
from tests.analysis.records import LEVELS, LRS, SEEDS, quadratic, rows, synthetic_records
from theory import predict

CONTRACT_ORDER = ("run_id", "lr", "seed", "noise_level", "measured", "measured_se", "predicted", "predicted_se",
                  "ratio", "ratio_ci_low", "ratio_ci_high")  # fmt: skip


def test_breakdown_level_is_the_last_level_of_the_first_good_run():
    assert orders.breakdown_level([0.2, 0.01, 0.05], [False, True, True]) == 0.05
    assert orders.breakdown_level([0.01, 0.05, 0.2], [True, False, True]) == 0.01
    assert orders.breakdown_level([0.01, 0.05], [False, True]) is None
    assert orders.breakdown_level([0.01, 0.05], [True, True]) == 0.05


def test_quadratic_loss_ratio_is_one_within_error():
    """L(w) = gᵀw + ½ wᵀAw: E[ΔL] = ½η² tr(AΣ₁) exactly, and the comparison must say so."""
    q = quadratic()
    assert q.run["fourth_moment_test"] == 0.0 and q.run["fourth_moment_test_se"] == 0.0  # no fourth derivative
    c = cells([q.run], q.noise_rows)
    second, fourth = orders.order_rows(c, "second_order"), orders.order_rows(c, "fourth_order")
    assert len(second) == 3
    for r in second:
        assert r["ratio_ci_low"] <= 1 <= r["ratio_ci_high"] and r["ratio_se"] < 0.05, r
    for r2, r4 in zip(second, fourth, strict=True):
        assert r4["predicted"] == r2["predicted"] and r4["ratio"] == r2["ratio"]
    breakdown = orders.breakdown_rows({"second_order": second, "fourth_order": fourth})
    assert [b["second_order"] for b in breakdown] == [1.0]
    # a prediction off by Σ₁ vs Σ₁^½ (tr(A Σ₁^½)) would be caught at the same precision
    wrong = float((q.A.diagonal() * q.s).sum())
    r = second[0]
    assert not compare(r["measured"], r["measured_se"], float(predict.delta_loss_second_order(0.01, wrong)), 0.0)[
        "ci_contains_1"
    ]


def test_order_rows_and_fits_on_synthetic_rows():
    c = cells(*rows(synthetic_records()))
    second, fourth = orders.order_rows(c, "second_order"), orders.order_rows(c, "fourth_order")
    for rs in (second, fourth):
        assert len(rs) == len(LRS) * len(SEEDS) * len(LEVELS)  # the diverged run has no row
        for r in rs:
            assert all(math.isfinite(r[f]) for f in CONTRACT_ORDER if f != "run_id")
            assert r["ratio_ci_low"] < r["ratio"] < r["ratio_ci_high"]
    # ΔL was built as the fourth-order prediction: the fourth-order ratios are ~1, the second-order ones grow with η
    assert all(abs(r["ratio"] - 1) < 0.05 for r in fourth)
    fits = {f["noise_level"]: f for f in orders.level_fits(second)}
    assert fits[0.2]["median_ratio"] > fits[0.01]["median_ratio"] > 1.0
    fit_keys = ("linear_slope", "linear_r2", "loglog_slope", "loglog_r2")
    assert all(math.isfinite(f[k]) for f in fits.values() for k in fit_keys)
    assert {b["fourth_order"] for b in orders.breakdown_rows({"second_order": second, "fourth_order": fourth})} == {0.2}
    kinked = orders.order_rows(c, "with_kinks")  # kink term 0: the second-order prediction, kink columns beside it
    assert [r["predicted"] for r in kinked] == [r["predicted"] for r in second]
    assert {(r["kink_term"], r["kink_term_se"]) for r in kinked} == {(0.0, 0.0)}


def test_by_lr_pools_seeds_draw_by_draw_and_as_independent_runs_without_draws():
    for pairs in (100, None):
        c = cells(*rows(synthetic_records(kink_share=0.3, pairs=pairs)))
        pooled = {(r["lr"], r["noise_level"]): r for r in orders.by_lr(c)}
        assert len(pooled) == len(LRS) * len(LEVELS)
        r = pooled[(0.1, 0.01)]
        mine = [x for x in c if x["lr"] == 0.1 and x["noise_level"] == 0.01]
        assert r["seeds"] == len(SEEDS) and r["measured"] == pytest.approx(np.mean([x["delta_loss"] for x in mine]))
        assert r["pooling"] == (pooling.COMMON if pairs else pooling.INDEPENDENT)
        # the seeds share the draws: the pooled MC error is a single seed's (0.03 ΔL), not that over √3
        same = np.mean([0.03 * x["delta_loss"] for x in mine])
        assert r["measured_se"] == pytest.approx(same if pairs else same / math.sqrt(len(SEEDS)), rel=0.02)
        for name, key in orders.PREDICTIONS.items():
            assert r[name]["predicted"] == pytest.approx(np.mean([x[key] for x in mine]))
            assert r[name]["ratio"] == pytest.approx(np.mean([x["delta_loss"] / x[key] for x in mine]))
        assert abs(r["with_kinks"]["ratio"] - 1) < 0.03 < abs(r["second_order"]["ratio"] - 1)  # lr 0.1: kink −0.3 p2


def test_agreement_is_median_ratio_and_spearman_over_runs():
    run_rows, noise_rows = rows(synthetic_records())
    second = orders.order_rows(cells(run_rows, noise_rows), "second_order")
    got = orders.agreement(second)
    assert [a["noise_level"] for a in got] == list(LEVELS)
    for a in got:
        # from noise.csv directly: measured ΔL against its recorded prediction
        pairs = [(n["delta_loss"], n["predicted_delta_loss"]) for n in noise_rows
                 if n["noise_level"] == a["noise_level"] and "delta_loss" in n]  # fmt: skip
        m, p = np.array(pairs).T
        assert a["runs"] == len(pairs) and a["median_ratio"] == pytest.approx(float(np.median(m / p)))
        assert a["spearman_rho"] == pytest.approx(scipy_stats.spearmanr(m, p).statistic)
    assert math.isnan(orders.agreement(second[:2])[0]["spearman_rho"])  # fewer than 3 runs
    assert orders.agreement(second) == analysis.summarize({}, run_rows, noise_rows, bootstrap=10)["agreement"]
