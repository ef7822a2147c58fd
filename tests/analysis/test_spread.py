"""The spread of ΔL across noise draws against √(η² gᵀΣ₁g + ½η⁴ tr((HΣ₁)²))."""

from __future__ import annotations

import math

import pytest

from empirical.analysis import spread
from empirical.analysis.predictions import cells
from tests.analysis.records import LEVELS, LRS, SEEDS, quadratic, rows, synthetic_records


def test_quadratic_loss_spread_matches_within_error():
    """On a quadratic the variance formula is exact; the measured std's interval must hold the prediction."""
    q = quadratic()
    v = spread.variance_rows(cells([q.run], q.noise_rows))
    assert len(v) == 3
    for r in v:
        assert r["ratio_ci_low"] <= 1 <= r["ratio_ci_high"], r


def test_variance_rows_on_synthetic_rows():
    v = spread.variance_rows(cells(*rows(synthetic_records())))
    assert len(v) == len(LRS) * len(SEEDS) * len(LEVELS)
    r = next(r for r in v if r["lr"] == 0.01 and r["seed"] == 0 and r["noise_level"] == 0.2)
    want = math.sqrt(0.2**2 * 0.05 + 0.5 * 0.2**4 * 6.0)  # seed 0 of lr 0.01 was built with exactly this std
    assert r["predicted_std"] == pytest.approx(want) and r["ratio"] == pytest.approx(1.0)
    assert r["gradient_share"] == pytest.approx(0.2**2 * 0.05 / want**2)
    assert r["measured_std_se"] == pytest.approx(r["measured_std"] / math.sqrt(2 * (32 - 1)))
    # checked only where the η² gradient term dominates: every cell at η = 0.01, none at η = 0.2
    assert {r["checked"] for r in v if r["noise_level"] == 0.01} == {True}
    assert {r["checked"] for r in v if r["noise_level"] == 0.2} == {False}
    assert all(r["checked"] == (r["gradient_share"] >= spread.DOMINANT) for r in v)
    fits = spread.variance_fit(v)
    assert 0.2 not in [f["noise_level"] for f in fits] and fits[0]["runs"] == len(LRS) * len(SEEDS)
