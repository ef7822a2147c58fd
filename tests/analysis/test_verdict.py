"""The verdict sentences: the answer first with its caveat, baselines beside claims, the kink term's
share of the miss, unresolved terms said to be unresolved, and no reference outside the package."""

from __future__ import annotations

import re

from empirical import analysis
from empirical.analysis import tables
from tests.analysis.records import rows, synthetic_records


def _verdict(records: list[dict], bootstrap: int = 50) -> dict:
    (v,) = analysis.summarize({}, *rows(records), activation="relu", bootstrap=bootstrap)["analysis"]["noise_models"]
    return v


def test_verdict_leads_with_the_answer_and_its_caveat():
    v = _verdict(synthetic_records())
    answer, caveat = v["verdict"][:2]
    assert answer.startswith("Answer: beyond the learning rate") and "tr(H) r² = " in answer
    assert "null baselines: clean loss r² = " in answer and "The prediction ½η² tr(HΣ₁) holds" in answer
    # no per-draw increases: the strongest caveat is that pooled intervals are too narrow
    assert caveat.startswith("Strongest caveat: these results hold no per-draw increases")
    text = "\n".join(v["verdict"])
    assert "vs the curvature-free null" in text and "the null's (argmin clean loss) at" in text
    assert "Kink term: 0 in every run (no piecewise-linear activation)" in text
    assert "Second order + kink term" not in text and "kink/(½η²)" not in text  # no copy of the second order
    assert "regressed on tr(HΣ₁) across 12 runs: slope" in text and "(theory: 1 and 0)" in text


def test_verdict_says_how_much_of_the_second_order_miss_the_kink_term_explains():
    records = synthetic_records(kink_share=0.3, pairs=100)  # kink +0.3, 0, −0.3, −0.6 of ½η² tr(HΣ₁) by lr
    v = _verdict(records)
    line = next(x for x in v["verdict"] if x.startswith("Kink term (noise at the activation kinks"))
    assert "0.01: 1.33 [" in line and "0.3: 0.43 [" in line  # second order alone: off by the kink share
    for e in v["kinks"]["per_lr"]:
        assert f"{e['lr']:g}: {tables.interval(e['second_order'])} → {tables.interval(e['with_kinks'])}" in line
    holds = {n: sum(e[n]["equivalence"] == "holds" for e in v["kinks"]["per_lr"]) for n in ("second_order", "with_kinks")}
    assert holds["second_order"] == 1 < holds["with_kinks"]  # only lr 0.03 (no kink) holds without the term
    assert f"equivalence holds at 1 of 4 lrs without the kink term and at {holds['with_kinks']} with it" in line
    assert all(e["with_kinks"]["miss"] < 0.1 for e in v["kinks"]["per_lr"])
    assert not any("no per-draw increases" in x for x in v["verdict"])  # pooled draw by draw


def test_an_unresolved_fourth_order_is_said_to_be_unresolved_not_counted():
    records = synthetic_records(pairs=20)
    for r in records:
        if r["status"] == "ok":
            r["metrics"]["fourth_moment_test_se"] = 0.9 * r["metrics"]["fourth_moment_test"]
    text = "\n".join(_verdict(records, 10)["verdict"])
    assert "Fourth order: not resolved" in text and "closer to the measurement" not in text


def test_verdict_without_the_kink_term_in_the_results():
    records = synthetic_records(pairs=100)
    for r in records:
        for row in r["noise"]:
            for key in ("kink_delta_loss", "kink_delta_loss_se", "predicted_delta_loss_kink"):
                row.pop(key, None)
    v = _verdict(records, 10)
    assert v["with_kinks"] == [] and v["kinks"]["state"] == "absent"
    assert "Kink term: not in these results (no kink_delta_loss); rerun the sweep to measure it." in v["verdict"]


def test_nothing_to_verify_without_runs():
    s = analysis.summarize({}, [], [], bootstrap=10)
    assert s["analysis"]["noise_models"] == [] and "nothing to verify" in analysis.report(s)


def test_verdict_cites_no_file_and_uses_no_bare_plus_minus():
    v = _verdict(synthetic_records(), 10)
    for line in v["verdict"]:
        assert not re.search(r"\w+\.(md|txt|tex|pdf)\b", line), line
        assert not re.search(r"±\s?\d", line.replace("±10%", "")), line  # intervals are [low, high]; ± only names the 10% band
