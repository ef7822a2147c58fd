"""Tests for ``python -m empirical.bench.noise``: argument errors, and a small run's JSON."""

from __future__ import annotations

import json

import pytest

from empirical.bench import noise


@pytest.mark.parametrize(
    "args, message",
    [
        (["--repeats", "1"], "--repeats 1 must be >= 2"),
        (["--preset", "nope"], "unknown preset 'nope'"),
        (["--device", "nodevice"], "argument --device: 'nodevice' is unavailable"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message, capsys):
    assert noise.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench.noise: error: ") and message in err and err.count("\n") == 1


def test_smoke_run_writes_the_ratio(tmp_path):
    path = tmp_path / "noise.json"
    assert noise.main(["--preset", "smoke", "--repeats", "2", "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    low, high = result["ratio_ci"]
    assert 0 < low <= result["ratio"] <= high and result["interval_level"] == 0.95
    assert result["test_samples"] == 300 and result["repeats"] == 2
