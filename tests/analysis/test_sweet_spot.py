"""The sweet spot: predicted vs measured best learning rate, grid steps between them, one computation."""

from __future__ import annotations

import numpy as np

from empirical import analysis
from empirical.analysis import sweet_spot
from empirical.analysis.predictions import cells
from empirical.analysis.stats import Bootstrap
from tests.analysis.records import LEVELS, LRS, SEEDS, rows, synthetic_records


def _spots(records: list[dict]) -> list[dict]:
    run_rows, noise_rows = rows(records)
    return sweet_spot.sweet_spots(run_rows, cells(run_rows, noise_rows), Bootstrap(200, seed=0))


def test_measured_sweet_spot_is_the_best_seed_mean_over_stable_learning_rates():
    records = synthetic_records()
    spots = _spots(records)
    assert [s["noise_level"] for s in spots] == list(LEVELS)
    for s in spots:
        assert s["lrs"] == len(LRS) and s["seeds"] == len(SEEDS)  # the diverged lr 1.0 is no candidate
        means = {lr: np.mean([n["noisy_acc_mean"] for r in records if r["lr"] == lr for n in r["noise"]
                              if n["noise_level"] == s["noise_level"]]) for lr in LRS}  # fmt: skip
        assert s["measured_lr_acc"] == max(means, key=means.get) == 0.03


def test_sweet_spot_counts_coincidence_and_grid_steps():
    records = synthetic_records()
    # noisy loss lowest at lr 0.1 (grid index 2); the prediction clean + ½η² tr(HΣ₁) lowest elsewhere
    for r in records:
        for row in r["noise"]:
            if r["status"] == "ok":
                row["noisy_loss_mean"] = 1.0 + abs(r["lr"] - 0.1) + 0.001 * r["seed"]
    spots = _spots(records)
    for s in spots:
        assert s["measured_lr_loss"] == 0.1 and s["measured_lr_acc"] == 0.03
        step = LRS.index(s["predicted_lr"]) - 2
        assert s["steps_loss"] == step
        assert s["bootstrap_coincide_loss"] == float(step == 0)
        assert s["bootstrap_within_one_step_loss"] == float(abs(step) <= 1)
        assert s["seeds_coincide_loss"] == float(step == 0)
    assert {s["predicted_lr"] for s in spots} != {0.1}  # the case tested is a miss


def test_summary_and_verification_hold_the_same_sweet_spot():
    s = analysis.summarize({"preset": "x"}, *rows(synthetic_records()), bootstrap=50)
    assert s["sweet_spot"] == sweet_spot.summary_rows(s["verification"]["sweet_spot"])
    assert [set(x) for x in s["sweet_spot"]] == [set(sweet_spot.SUMMARY_KEYS)] * len(LEVELS)
