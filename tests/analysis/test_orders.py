"""Second- and fourth-order ΔL predictions against the measurement: exact agreement on a quadratic,
the contract rows, fits, pooling, breakdown levels and the agreement summary on constructed data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from empirical.analysis import orders, pooling
from empirical.analysis.equivalence import FAILS, HOLDS, UNDETERMINED
from empirical.analysis.predictions import cells
from empirical.analysis.stats import compare
from tests.analysis.records import LEVELS, LRS, SEEDS, quadratic, rows, synthetic_records
from theory import predict

CONTRACT_ORDER = ("run_id", "lr", "seed", "noise_level", "measured", "measured_se", "predicted", "predicted_se",
                  "ratio", "ratio_ci_low", "ratio_ci_high")  # fmt: skip


def test_breakdown_holds_up_to_the_first_level_that_does_not_and_says_why():
    h, f, u = HOLDS, FAILS, UNDETERMINED
    assert orders.breakdown([0.2, 0.01, 0.05], [f, h, h]) == {"holds_up_to": 0.05, "next_level": 0.2, "next": f}
    assert orders.breakdown([0.01, 0.05, 0.2], [h, u, h]) == {"holds_up_to": 0.01, "next_level": 0.05, "next": u}
    assert orders.breakdown([0.01, 0.05], [u, h])["holds_up_to"] is None
    assert orders.breakdown([0.01, 0.05], [h, h]) == {"holds_up_to": 0.05, "next_level": None, "next": None}


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
    assert [b["second_order"]["next"] for b in breakdown] != [FAILS]  # no level shows a miss
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
    fits4 = orders.level_fits(fourth)
    assert all(f["fails"] == 0 for f in fits4) and fits[0.2]["median_miss"] > fits4[-1]["median_miss"]
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


def test_level_fits_report_the_null_next_to_the_prediction():
    """Synthetic ΔL follows tr(HΣ₁) across lrs (a 3× range): the prediction misses far less than the
    curvature-free null that gives every run the level's median ΔL."""
    fits = orders.level_fits(orders.order_rows(cells(*rows(synthetic_records())), "fourth_order"))
    for f in fits:
        assert f["median_miss"] < 0.05 < f["null_median_miss"]
        assert f["holds"] + f["fails"] + f["undetermined"] == f["runs"] and f["se_missing"] == 0


def test_fourth_order_is_resolved_only_where_its_relative_error_is_small():
    run_rows, noise_rows = rows(synthetic_records())
    for r in run_rows:
        if r["lr"] == 0.01:
            r["fourth_moment_test_se"] = 0.6 * r["fourth_moment_test"]  # 60% > RESOLVED
    fourth = orders.order_rows(cells(run_rows, noise_rows), "fourth_order")
    assert {r["fourth_resolved"] for r in fourth if r["lr"] == 0.01} == {False}
    assert {r["fourth_resolved"] for r in fourth if r["lr"] != 0.01} == {True}  # 30% elsewhere
