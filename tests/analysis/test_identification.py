"""What explains ΔL beyond the learning rate: within-lr partial correlations and the slope of
ΔL/(½η²) on tr(HΣ₁), on synthetic runs where the answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from empirical.analysis import identification
from empirical.analysis.identification import CANDIDATES

LRS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
ETA = 0.01


def _cells(seeds: int = 4, draws: int = 60, kink_share: float = 0.0, seed: int = 0) -> list[dict]:
    """Runs whose tr(HΣ₁) varies within each lr and ΔL = ½η²(tr(HΣ₁) + kink)·(1 + noise) exactly in
    expectation; tr(H), λ_max and ‖w‖ move with lr only (monotone: a rank correlation across lrs gives
    them ±1), the clean loss is unrelated to ΔL."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(draws)
    u = (u - u.mean()) / u.std()
    out = []
    for i, lr in enumerate(LRS):
        for s in range(seeds):
            t = 5.0 + 3.0 * i + rng.normal(0, 1.0)  # tr(HΣ₁): across lrs and within
            kink = kink_share * 0.5 * ETA**2 * t
            mean = 0.5 * ETA**2 * t + kink
            d = mean * (1 + 0.2 * u + 0.02 * rng.standard_normal(draws))  # shared draws + a little own noise
            out.append({
                "run_id": f"{lr}-{s}", "lr": lr, "seed": s, "noise_level": ETA, "delta_loss": float(d.mean()),
                "pair_increase": d, "noise_trace_test": t, "trace": t, "kink": kink, "pk": mean,
                "hessian_trace_test": 100.0 - 10 * i + rng.normal(0, 0.01),
                "lambda_max_train": 50.0 / (1 + i) + rng.normal(0, 0.01), "weight_norm": 10.0 + i + rng.normal(0, 0.01),
                "clean_loss": 0.3 + rng.normal(0, 0.01),
            })  # fmt: skip
    return out


def test_the_quantity_that_varies_with_delta_loss_within_lr_wins_and_confounded_ones_lose():
    rows = identification.explanatory(_cells(), 400, np.random.default_rng(1))
    got = {r["candidate"]: r for r in rows}
    assert set(got) == set(CANDIDATES) and {r["runs"] for r in rows} == {len(LRS) * 4}
    for name in ("noise_trace", "with_kinks"):
        assert got[name]["r"] > 0.95 and got[name]["r_ci_low"] > 0.8
    for name in ("trace", "lambda_max", "weight_norm", "clean_loss"):  # monotone in lr or unrelated: must lose
        r = got[name]
        assert r["r_ci_low"] < 0 < r["r_ci_high"], r
        assert r["r2_ci_high"] < got["noise_trace"]["r2_ci_low"], r
    for r in rows:  # intervals from a real resampling: never a single point
        assert r["r_ci_low"] < r["r_ci_high"] and r["replicates"] > 300


def test_partial_r_removes_the_learning_rate():
    groups = np.repeat(np.arange(3), 3)
    x = np.array([0.0, 1.0, 2.0] * 3) + 10 * groups  # between-lr trend plus within-lr 0, 1, 2
    y = np.array([0.0, 1.0, 2.0] * 3) - 100 * groups  # between-lr trend opposite
    assert identification.partial_r(groups, y, x) == pytest.approx(1.0)
    assert np.corrcoef(x, y)[0, 1] < -0.9  # across lrs they look anti-related
    assert math.isnan(identification.partial_r(groups, y, 10.0 * groups))  # no within-lr variation


@pytest.mark.parametrize("kink_share", [0.0, 0.5])
def test_slope_of_delta_loss_over_half_eta2_recovers_the_truth(kink_share):
    s = identification.slope(_cells(kink_share=kink_share), 400, np.random.default_rng(2))
    fit = s["with_kinks"]
    assert fit["slope_ci_low"] < 1 < fit["slope_ci_high"] and fit["intercept_ci_low"] < 0 < fit["intercept_ci_high"]
    assert fit["slope_ci_contains_1"] and fit["intercept_ci_contains_0"]
    second = s["second_order"]
    if kink_share:  # y = 1.5 tr(HΣ₁): the second order alone has the wrong slope, and the interval says so
        assert second["slope"] == pytest.approx(1.5, abs=0.05) and not second["slope_ci_contains_1"]
    else:
        assert second["slope"] == pytest.approx(fit["slope"])
    assert s["runs"] == len(LRS) * 4


def test_too_few_runs_give_nan_not_a_fake_interval():
    s = identification.slope(_cells()[:2], 50, np.random.default_rng(0))
    assert math.isnan(s["second_order"]["slope"]) and not s["second_order"]["slope_ci_contains_1"]
    assert identification.explanatory(_cells()[:2], 50, np.random.default_rng(0)) == []


def test_a_candidate_the_results_lack_is_nan_and_the_others_still_count():
    cells = _cells()
    for c in cells:
        c["lambda_max_train"] = math.nan  # e.g. results measured before λ_max was
    got = {r["candidate"]: r for r in identification.explanatory(cells, 100, np.random.default_rng(0))}
    assert math.isnan(got["lambda_max"]["r"]) and got["lambda_max"]["replicates"] == 0
    assert got["noise_trace"]["r"] > 0.95
