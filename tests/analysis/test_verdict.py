"""The verdict sentences: what they say for clear cases, the kink term's share of the miss, and no
reference outside the package."""

from __future__ import annotations

import re

from empirical import analysis
from empirical.analysis import tables
from tests.analysis.records import rows, synthetic_records


def test_verdict_on_synthetic_rows():
    v = analysis.summarize({}, *rows(synthetic_records()), activation="relu", bootstrap=100)["verification"]
    text = "\n".join(v["verdict"])
    # ΔL was built as the fourth-order prediction: it holds at every level, the second order does not at η = 0.2
    assert "Fourth order + η⁴E[D⁴L[v⁴]]/24: median ratio within 10% of 1 at every level up to η = 0.2" in text
    assert "Second order ½η² tr(HΣ₁): median ratio within 10% of 1 up to η = 0.05, not at η = 0.2" in text
    assert "tr(HΣ₁) has the higher ρ at 3 of 3 levels" in text
    # no kink term in these records (smooth-like), and no per-draw increases: the pooled intervals say so
    assert "Kink term: 0 in every run (no piecewise-linear activation)" in text
    assert "Pooled intervals treat runs as independent" in text


def test_verdict_says_how_much_of_the_second_order_miss_the_kink_term_explains():
    records = synthetic_records(kink_share=0.3, pairs=100)  # kink +0.3, 0, −0.3, −0.6 of ½η² tr(HΣ₁) by lr
    v = analysis.summarize({}, *rows(records), activation="relu", bootstrap=10)["verification"]
    line = next(x for x in v["verdict"] if x.startswith("Kink term (noise at the activation kinks"))
    assert "0.01: 1.33 [" in line and "0.3: 0.43 [" in line  # second order alone: off by the kink share
    per_lr = {e["lr"]: e for e in v["kinks"]["per_lr"]}
    for lr, e in per_lr.items():
        assert f"{lr:g}: {tables.interval(e['second_order'])} → {tables.interval(e['with_kinks'])}" in line
        assert e["with_kinks"]["ci_contains_1"] and e["with_kinks"]["miss"] < 0.1
    assert "The miss |R − 1| shrinks at 3 of 4 lrs" in line  # lr 0.03 has no kink term: no change
    assert "the CI contains 1 at 1 of 4 lrs without the kink term and at 4 with it" in line
    assert not any("treat runs as independent" in x for x in v["verdict"])  # pooled draw by draw
    assert not any(x.startswith("Caveat") for x in v["verdict"])


def test_verdict_without_the_kink_term_in_the_results():
    records = synthetic_records(pairs=100)
    for r in records:
        for row in r["noise"]:
            for key in ("kink_delta_loss", "kink_delta_loss_se", "predicted_delta_loss_kink"):
                row.pop(key, None)
    v = analysis.summarize({}, *rows(records), bootstrap=10)["verification"]
    assert v["with_kinks"] == [] and v["kinks"]["state"] == "absent"
    assert "Kink term: not in these results (no kink_delta_loss); rerun the sweep to measure it." in v["verdict"]
    assert v["kinks"]["pooling"] == "draw by draw" and not any("independent" in x for x in v["verdict"])


def test_nothing_to_verify_without_runs():
    assert analysis.summarize({}, [], [], bootstrap=10)["verification"]["verdict"] == [
        "No finished, non-diverged runs with noise measurements: nothing to verify."
    ]


def test_verdict_cites_no_file():
    v = analysis.summarize({}, *rows(synthetic_records()), activation="relu", bootstrap=10)["verification"]
    for line in v["verdict"]:
        assert not re.search(r"\w+\.(md|txt|tex|pdf)\b", line), line
