"""``empirical.analysis.summarize``: the whole summary.json, one analysis block per noise model, deterministic."""

from __future__ import annotations

import json

import pytest

from empirical import analysis
from empirical.sweep import store
from tests.analysis.records import LEVELS, LRS, SEEDS, rows, synthetic_records

MODEL_KEYS = ("noise_model", "runs", "second_order", "second_order_fit", "fourth_order", "fourth_order_fit",
              "with_kinks", "with_kinks_fit", "by_lr", "breakdown", "kinks", "variance", "variance_fit",
              "identification", "slope", "sweet_spot", "ci_requirement", "verdict")  # fmt: skip


def test_summary_has_one_analysis_block_with_every_contract_key():
    s = analysis.summarize({"preset": "x"}, *rows(synthetic_records()), activation="relu", bootstrap=100)
    assert list(s) == ["preset", "runs", "diverged", "per_lr", "analysis"]
    assert (s["preset"], s["runs"], s["diverged"]) == ("x", len(LRS) * len(SEEDS) + 1, 1)
    a = s["analysis"]
    assert list(a) == ["method", "activation", "noise_models", "noise_model_comparison", "layers"]
    assert a["activation"] == "relu" and a["layers"] is None
    assert a["method"]["bootstrap"] == 100 and a["method"]["within"] == 0.1
    (v,) = a["noise_models"]
    assert tuple(v) == MODEL_KEYS and v["noise_model"] == "layer-relative" and v["runs"] == len(LRS) * len(SEEDS)
    ok_rows = len(LRS) * len(SEEDS) * len(LEVELS)
    assert len(v["second_order"]) == len(v["fourth_order"]) == len(v["with_kinks"]) == len(v["variance"]) == ok_rows
    assert len(v["identification"]) == len(LEVELS) * 6 and v["verdict"][0].startswith("Answer:")


def test_each_noise_model_gets_its_own_block_and_per_lr_levels():
    records = synthetic_records()
    twin = []
    for r in records:
        copy = json.loads(json.dumps(r))
        for row in copy["noise"]:
            row["noise_model"] = "additive"
            row["noise_trace"] = 2 * copy["metrics"].get("noise_trace_test", float("nan"))  # its own curvature
        twin.append(copy)
    run_rows, noise_rows = rows(records)
    noise_rows += rows(twin)[1]
    s = analysis.summarize({"noise_model": "layer-relative"}, run_rows, noise_rows, bootstrap=20)
    models = [v["noise_model"] for v in s["analysis"]["noise_models"]]
    assert models == ["additive", "layer-relative"]
    for v in s["analysis"]["noise_models"]:
        assert len(v["second_order"]) == len(LRS) * len(SEEDS) * len(LEVELS)  # not mixed across models
    entry = next(a for a in s["per_lr"] if a["lr"] == 0.03)
    assert [(lv["noise_model"], lv["noise_level"]) for lv in entry["levels"]] == [
        (m, eta) for m in models for eta in LEVELS
    ]
    additive, relative = s["analysis"]["noise_models"]
    assert additive["second_order"][0]["predicted"] == pytest.approx(2 * relative["second_order"][0]["predicted"])
    assert not additive["fourth_order"] and relative["fourth_order"]  # runs.csv's M is the reference model's
    text = analysis.report(s)
    assert text.count("=== Noise model") == 2 and text.index("Verdict:") < text.index("Per learning rate")


def test_summary_is_deterministic_for_a_bootstrap_seed():
    args = ({"preset": "x"}, *rows(synthetic_records(pairs=20)))
    a, b = (json.dumps(store._strict(analysis.summarize(*args, bootstrap=50, seed=3))) for _ in range(2))
    assert a == b and json.loads(a)["analysis"]["method"]["bootstrap_seed"] == 3


@pytest.mark.parametrize("bootstrap", [0, -1, 1.5, True])
def test_bad_bootstrap_is_refused(bootstrap):
    with pytest.raises(ValueError, match=f"bootstrap must be an int >= 1. Got {bootstrap!r}"):
        analysis.summarize({}, [], [], bootstrap=bootstrap)
