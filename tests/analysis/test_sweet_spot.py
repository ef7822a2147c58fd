"""The sweet spot: the curvature's pick and the null's (argmin clean loss) against the measured optimum,
compared by paired noisy-loss differences over the same seeds and draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from empirical.analysis import sweet_spot
from empirical.analysis.predictions import cells
from tests.analysis.records import LEVELS, LRS, SEEDS, common_draws, rows, synthetic_records


def _spots(records: list[dict]) -> list[dict]:
    run_rows, noise_rows = rows(records)
    return sweet_spot.sweet_spots(run_rows, cells(run_rows, noise_rows))


def test_measured_sweet_spot_is_the_best_seed_mean_over_stable_learning_rates():
    records = synthetic_records()
    for s in _spots(records):
        assert s["lrs"] == len(LRS) and s["seeds"] == len(SEEDS)  # the diverged lr 1.0 is no candidate
        means = {lr: np.mean([n["noisy_acc_mean"] for r in records if r["lr"] == lr for n in r["noise"]
                              if n["noise_level"] == s["noise_level"]]) for lr in LRS}  # fmt: skip
        assert s["measured_lr_acc"] == max(means, key=means.get) == 0.03


def test_the_null_wins_where_curvature_misleads_and_the_paired_difference_says_so():
    """Clean loss falls with lr (null picks lr 0.3); ΔL grows with tr(HΣ₁), so at η = 0.2 the noisy loss
    is lowest at a smaller lr. Curvature must beat the null there and tie it (same lr) at η = 0.01."""
    spots = {s["noise_level"]: s for s in _spots(synthetic_records(pairs=50))}
    assert {s["null_lr"] for s in spots.values()} == {0.3}
    small, large = spots[0.01], spots[0.2]
    assert small["predicted_lr"] == small["null_lr"] and small["curvature_vs_null"]["outcome"] == sweet_spot.SAME
    assert large["measured_lr_loss"] == large["predicted_lr"] != large["null_lr"]
    assert large["predicted_lr_hit"] and not large["null_lr_hit"]
    assert large["curvature_vs_null"]["outcome"] == sweet_spot.BETTER and large["curvature_vs_null"]["ci_high"] < 0
    assert large["null_lr_regret"]["difference"] > 0


def _cell(seed: int, clean: float, d: np.ndarray) -> dict:
    return {"seed": seed, "clean_loss": clean, "pair_increase": d, "noisy_loss_mean": clean + d.mean()}


def test_paired_difference_cancels_what_the_seeds_and_draws_share():
    """Seed offsets and draw fluctuations common to both lrs cancel: a 0.01 difference is resolved although
    each lr's own spread over seeds (0.5) and draws (0.3) dwarfs it; a CI-overlap reading would not see it."""
    u = common_draws(100)
    a = [_cell(s, 1.0 + 0.5 * s, 0.1 + 0.3 * u + 0.001 * np.sin(np.arange(100) + s)) for s in SEEDS]
    b = [_cell(s, 1.01 + 0.5 * s, 0.1 + 0.3 * u) for s in SEEDS]
    got = sweet_spot.paired_difference(a, b)
    assert got["difference"] == pytest.approx(-0.01, abs=1e-3) and got["outcome"] == sweet_spot.BETTER
    swapped = sweet_spot.paired_difference(b, a)
    assert swapped["outcome"] == sweet_spot.WORSE and swapped["difference"] == pytest.approx(-got["difference"])
    noisy = [_cell(s, 1.0 + 0.5 * s + 0.05 * (-1) ** s, 0.1 + 0.3 * u) for s in SEEDS]  # seed noise ±0.05
    assert sweet_spot.paired_difference(noisy, b)["outcome"] == sweet_spot.UNRESOLVED
    one = sweet_spot.paired_difference(a[:1], b[:1])
    assert math.isnan(one["difference"]) and one["outcome"] == sweet_spot.UNRESOLVED  # one seed: no error


def test_summary_rows_hold_the_point_estimates():
    spots = _spots(synthetic_records())
    assert [set(x) for x in sweet_spot.summary_rows(spots)] == [set(sweet_spot.SUMMARY_KEYS)] * len(LEVELS)
