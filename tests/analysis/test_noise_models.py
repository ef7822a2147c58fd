"""``empirical.analysis.noise_models``: the learning-rate conclusion holds, flips or vanishes across models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from empirical import analysis
from empirical.analysis.noise_models import FLIPS, HOLDS, UNDETERMINED, VANISHES, combined, compare_models, conclusion
from empirical.analysis.predictions import cells
from empirical.analysis.trend import FALLS, FLAT, RISES
from tests.analysis.records import LRS, rows, synthetic_records


def _with_model(name: str, scale_by_lr: list[float], trace_by_lr: list[float]) -> list[dict]:
    """The synthetic sweep's records as another noise model: ΔL (and every draw) times ``scale_by_lr[i]``
    at the i-th lr, its own noise trace ``trace_by_lr[i]``."""
    records = json.loads(json.dumps(synthetic_records(pairs=40)))
    for r in records:
        if r["status"] != "ok":
            continue
        i = LRS.index(r["lr"])
        for row in r["noise"]:
            row["noise_model"], row["noise_trace"], row["noise_trace_se"] = name, trace_by_lr[i], 0.01
            row["delta_loss"] *= scale_by_lr[i]
            row["pair_increase"] = [d * scale_by_lr[i] for d in row["pair_increase"]]
    return records


def _comparison(*others: list[dict]) -> dict:
    run_rows, noise_rows = rows(synthetic_records(pairs=40))
    for records in others:
        noise_rows += rows(records)[1]
    return compare_models(cells(run_rows, noise_rows, "layer-relative"), "layer-relative", 300,
                          np.random.default_rng(0))  # fmt: skip


def test_conclusion_and_combined_cover_every_case():
    assert conclusion(RISES, RISES) == HOLDS and conclusion(RISES, FALLS) == FLIPS
    assert conclusion(FALLS, FLAT) == VANISHES and conclusion(FLAT, RISES) == UNDETERMINED
    assert combined([RISES, FLAT]) == RISES and combined([RISES, FALLS]) == "mixed" and combined([FLAT]) == FLAT


def test_a_model_whose_loss_falls_with_lr_flips_the_conclusion_and_its_own_trace_predicts_it():
    # the reference's ΔL rises ~(5 + 4i); times 1/(i+1)^2 it falls; tr(H)-like trace falls too
    falling = _with_model("additive", [1 / (i + 1) ** 2 for i in range(4)], [80.0, 60.0, 40.0, 20.0])
    same = _with_model("multiplicative", [1.0] * 4, [5.0, 9.0, 13.0, 17.0])
    c = _comparison(falling, same)
    by = {m["noise_model"]: m for m in c["models"]}
    assert c["reference"] == "layer-relative" and by["layer-relative"]["direction"] == RISES
    assert by["additive"]["direction"] == FALLS and by["additive"]["conclusion"] == FLIPS
    assert by["additive"]["predicted_direction"] == FALLS  # from the row's noise_trace, not noise_trace_test
    assert by["multiplicative"]["conclusion"] == HOLDS and by["layer-relative"]["conclusion"] is None
    level = by["additive"]["levels"][0]
    assert [e["mean"] for e in level["trace"]["per_lr"]] == pytest.approx([80, 60, 40, 20])
    assert c["verdict"][0].startswith("Answer: under layer-relative (the reference) ΔL rises")
    assert "it flips under additive" in c["verdict"][0]


def test_a_model_without_a_trend_makes_the_conclusion_vanish():
    # ΔL flattened to the same mean at every lr, its draws still noisy: no resolved direction
    flat = _with_model("additive", [1.0] * 4, [1.0] * 4)
    for r in flat:
        for row in r["noise"]:
            if r["status"] == "ok":
                base = row["noise_level"] ** 2
                row["pair_increase"] = (base * (1 + np.random.default_rng(r["seed"]).standard_normal(40))).tolist()
                row["delta_loss"] = float(np.mean(row["pair_increase"]))
    by = {m["noise_model"]: m for m in _comparison(flat)["models"]}
    assert by["additive"]["direction"] == FLAT and by["additive"]["conclusion"] == VANISHES


def test_summary_holds_the_comparison_and_the_report_prints_it():
    run_rows, noise_rows = rows(synthetic_records(pairs=40))
    noise_rows += rows(_with_model("additive", [1 / (i + 1) ** 2 for i in range(4)], [80.0, 60.0, 40.0, 20.0]))[1]
    s = analysis.summarize({"noise_model": "layer-relative"}, run_rows, noise_rows, bootstrap=100)
    c = s["analysis"]["noise_model_comparison"]
    assert [m["conclusion"] for m in c["models"]] == [FLIPS, None]
    assert "Side by side" in analysis.report(s)
