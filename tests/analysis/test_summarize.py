"""``empirical.analysis.summarize``: the whole summary.json, with every contract key, deterministic."""

from __future__ import annotations

import json

import pytest

from empirical import analysis
from empirical.sweep import store
from tests.analysis.records import LEVELS, LRS, SEEDS, rows, synthetic_records

VERIFICATION_KEYS = ("method", "activation", "runs", "second_order", "second_order_fit", "fourth_order",
                     "fourth_order_fit", "with_kinks", "with_kinks_fit", "by_lr", "breakdown", "kinks", "variance",
                     "variance_fit", "spearman", "sweet_spot", "ci_requirement", "verdict")  # fmt: skip


def test_summary_has_every_contract_key():
    s = analysis.summarize({"preset": "x"}, *rows(synthetic_records()), activation="relu", bootstrap=300)
    assert list(s) == ["preset", "runs", "diverged", "per_lr", "sweet_spot", "agreement", "verification"]
    assert (s["preset"], s["runs"], s["diverged"]) == ("x", len(LRS) * len(SEEDS) + 1, 1)
    assert [a["lr"] for a in s["per_lr"]] == [*LRS, 1.0]
    v = s["verification"]
    assert tuple(v) == VERIFICATION_KEYS and v["activation"] == "relu" and v["runs"] == len(LRS) * len(SEEDS)
    assert v["method"]["bootstrap"] == 300 and v["method"]["within"] == 0.1
    ok_rows = len(LRS) * len(SEEDS) * len(LEVELS)
    assert len(v["second_order"]) == len(v["fourth_order"]) == len(v["with_kinks"]) == len(v["variance"]) == ok_rows
    assert len(v["spearman"]) == len(LEVELS) * 4 and v["ci_requirement"]["rows"] == len(LRS) * len(SEEDS) * 2
    assert [a["noise_level"] for a in s["agreement"]] == list(LEVELS) and v["verdict"]


def test_summary_is_deterministic_for_a_bootstrap_seed():
    args = ({"preset": "x"}, *rows(synthetic_records()))
    a, b = (json.dumps(store._strict(analysis.summarize(*args, bootstrap=100, seed=3))) for _ in range(2))
    assert a == b and json.loads(a)["verification"]["method"]["bootstrap_seed"] == 3


@pytest.mark.parametrize("bootstrap", [0, -1, 1.5, True])
def test_bad_bootstrap_is_refused(bootstrap):
    with pytest.raises(ValueError, match=f"bootstrap must be an int >= 1. Got {bootstrap!r}"):
        analysis.summarize({}, [], [], bootstrap=bootstrap)
