"""The verdict sentences: what they say for clear cases, the caveat, and no reference outside the package."""

from __future__ import annotations

import re

from empirical import analysis
from tests.analysis.records import rows, synthetic_records


def test_verdict_on_synthetic_rows():
    v = analysis.summarize({}, *rows(synthetic_records()), activation="relu", bootstrap=100)["verification"]
    text = "\n".join(v["verdict"])
    # ΔL was built as the fourth-order prediction: it holds at every level, the second order does not at η = 0.2
    assert "Fourth order + η⁴E[D⁴L[v⁴]]/24: median ratio within 10% of 1 at every level up to η = 0.2" in text
    assert "Second order ½η² tr(HΣ₁): median ratio within 10% of 1 up to η = 0.05, not at η = 0.2" in text
    assert "tr(HΣ₁) has the higher ρ at 3 of 3 levels" in text
    assert any(line.startswith("Caveat: the relu network is piecewise linear") for line in v["verdict"])


def test_no_caveat_for_a_smooth_activation_and_nothing_to_verify_without_runs():
    v = analysis.summarize({}, *rows(synthetic_records()), activation="gelu", bootstrap=10)["verification"]
    assert not any("Caveat" in line for line in v["verdict"])
    assert analysis.summarize({}, [], [], bootstrap=10)["verification"]["verdict"] == [
        "No finished, non-diverged runs with noise measurements: nothing to verify."
    ]


def test_verdict_cites_no_file():
    v = analysis.summarize({}, *rows(synthetic_records()), activation="relu", bootstrap=10)["verification"]
    for line in v["verdict"]:
        assert not re.search(r"\w+\.(md|txt|tex|pdf)\b", line), line
