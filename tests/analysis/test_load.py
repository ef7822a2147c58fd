"""Reading a results folder for analysis: run records first, else the CSVs; errors name the folder."""

from __future__ import annotations

import csv
import math
import shutil

import pytest

from empirical.analysis import load
from empirical.sweep import store
from tests.analysis.records import rows, synthetic_records, write_folder


def test_records_give_the_rows_and_activation(tmp_path):
    records = synthetic_records()
    run_rows, noise_rows, activation = load.load(write_folder(tmp_path / "res", records))
    assert store._strict([run_rows, noise_rows]) == store._strict(list(rows(records))) and activation == "relu"


def test_csv_only_folder_gives_the_same_rows(tmp_path):
    out = write_folder(tmp_path / "res", synthetic_records())
    want_runs, want_noise, _ = load.load(out)
    shutil.rmtree(out / "runs")
    run_rows, noise_rows, activation = load.load(out)
    assert activation == "relu" and len(run_rows) == len(want_runs) and len(noise_rows) == len(want_noise)
    for got, want in zip(run_rows + noise_rows, want_runs + want_noise, strict=True):
        assert got["run_id"] == want["run_id"] and got["seed"] == want["seed"] and isinstance(got["seed"], int)
        for key in ("lr", "noise_trace_test", "delta_loss", "fourth_moment_test"):
            if isinstance(want.get(key), float) and math.isfinite(want[key]):
                assert got[key] == pytest.approx(want[key], rel=1e-12)
    assert {r["status"] for r in run_rows} == {"ok", "diverged"}
    with (out / "runs.csv").open() as f:
        assert {"fourth_moment_test", "hsigma_sq_trace_test"} <= set(csv.DictReader(f).fieldnames)


@pytest.mark.parametrize("case", ["missing", "file", "empty", "not_a_table"])
def test_bad_folder_raises_naming_it(tmp_path, case):
    target = tmp_path / "res"
    if case == "file":
        target.write_text("x")
    elif case == "empty":
        target.mkdir()
    elif case == "not_a_table":
        target.mkdir()
        (target / "runs.csv").write_text("a,b\n1,2\n")
        (target / "noise.csv").write_text("a,b\n1,2\n")
    with pytest.raises(load.LoadError, match=str(target)):
        load.load(target)


def test_activation_from_the_records_old_or_new_layout_none_when_they_disagree(tmp_path):
    records = synthetic_records()
    old = [{**{k: v for k, v in r.items() if k != "config"}, "activation": "relu"} for r in records]
    assert load.load(write_folder(tmp_path / "old", old))[2] == "relu"
    records[0]["config"] = {"activation": "gelu"}
    assert load.load(write_folder(tmp_path / "mixed", records))[2] is None
