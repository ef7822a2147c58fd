"""The printed tables: numbers formatted once, every table printed once, the stability bound for every lr."""

from __future__ import annotations

import math

from empirical import analysis
from empirical.analysis import tables
from tests.analysis.records import rows, synthetic_records


def test_number_formats():
    assert tables.fixed(1.23456) == "1.23" and tables.fixed(math.nan) == "—" and tables.fixed(None) == "—"
    assert tables.sig(0.001234567) == "0.00123457" and tables.sig(380.0, 4) == "380" and tables.sig(None) == "—"
    assert tables.percent(0.456) == "46%" and tables.percent(math.nan) == "—"
    assert tables.plus_minus({"mean": 2.0, "ci_low": 1.5, "ci_high": 2.5}, 3) == "2 ± 0.5"
    assert tables.plus_minus({"mean": 2.0, "ci_low": math.nan, "ci_high": math.nan}, 3) == "2"
    assert tables.ratio_cell({"ratio": 1.2, "ratio_ci_low": 1.0, "ratio_ci_high": 1.4}) == "1.20±0.20"
    assert tables.ratio_cell({"ratio": 0.4, "ratio_ci_low": 0.01, "ratio_ci_high": 9.0}) == "0.40 n.r."
    assert tables.ratio_cell({"ratio": 1.0, "ratio_ci_low": math.nan, "ratio_ci_high": math.nan}) == "1.00 —"


def test_report_prints_each_table_once_and_the_bound_of_a_diverged_lr():
    text = analysis.report(analysis.summarize({"preset": "x"}, *rows(synthetic_records()), bootstrap=50))
    for heading in ("Notation:", "Per learning rate", "Noisy test accuracy", "Measured / predicted ΔL, prediction ½η² tr(HΣ₁);",
                    "Per level across runs", "Breakdown per run", "Within-lr partial correlation r", "Sweet spot (lr)",
                    "Verdict:"):  # fmt: skip
        assert text.count(heading) == 1, heading
    diverged = next(line for line in text.splitlines() if line.split()[:2] == ["1", "0/1"])
    assert diverged.split()[-1] == "3.8" and "nan" not in text  # 2(1+β)/lr needs no training
