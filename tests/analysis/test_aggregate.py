"""Per-lr aggregates over seeds: training metrics over finished seeds, the stability bound over all runs."""

from __future__ import annotations

import math

import pytest

from empirical.analysis import aggregate
from tests.analysis.records import LEVELS, SEEDS, rows, synthetic_records


def test_per_lr_counts_runs_and_averages_finished_seeds():
    entries = {a["lr"]: a for a in aggregate.per_lr(*rows(synthetic_records()))}
    a = entries[0.03]
    assert (a["runs"], a["ok"], a["diverged"]) == (len(SEEDS), len(SEEDS), 0)
    assert a["noise_trace_test"]["mean"] == pytest.approx(9.1) and a["noise_trace_test"]["n"] == len(SEEDS)
    assert [lv["noise_level"] for lv in a["levels"]] == list(LEVELS)
    d = entries[1.0]
    assert (d["runs"], d["ok"], d["diverged"]) == (1, 0, 1)
    assert math.isnan(d["test_acc"]["mean"]) and d["test_acc"]["n"] == 0  # training metrics: finished seeds only


def test_stability_bound_is_aggregated_over_every_run_diverged_or_not():
    run_rows, noise_rows = rows(synthetic_records())
    entries = {a["lr"]: a for a in aggregate.per_lr(run_rows, noise_rows)}
    assert entries[1.0]["stability_bound"]["mean"] == pytest.approx(3.8) and entries[1.0]["stability_bound"]["n"] == 1
    # a learning rate with one diverged seed of three counts all three
    for r in run_rows:
        if r["lr"] == 0.1 and r["seed"] == 0:
            r["status"] = "diverged"
    b = {a["lr"]: a for a in aggregate.per_lr(run_rows, noise_rows)}[0.1]
    assert b["ok"] == 2 and b["test_acc"]["n"] == 2 and b["stability_bound"]["n"] == 3
    assert b["stability_bound"]["mean"] == pytest.approx(38.0)
