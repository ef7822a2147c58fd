"""The synthetic results folder of the paper tests holds every contract column and key."""

import csv
import json

from empirical.sweep.store import NOISE_COLUMNS, RUNS_COLUMNS
from tests.paper.synthetic import write_results


def test_synthetic_folder_has_every_contract_column_and_key(tmp_path):
    folder = write_results(tmp_path / "res")
    for name, columns in (("runs.csv", RUNS_COLUMNS), ("noise.csv", NOISE_COLUMNS)):
        with (folder / name).open() as f:
            assert tuple(csv.DictReader(f).fieldnames) == columns
    s = json.loads((folder / "summary.json").read_text())
    assert list(s) == ["preset", "runs", "diverged", "per_lr", "analysis"]
    assert [a["diverged"] for a in s["per_lr"]] == [0, 0, 0, 1]
    assert [m["noise_model"] for m in s["analysis"]["noise_models"]] == ["layer-relative"]
    bare = write_results(tmp_path / "bare", with_analysis=False)
    assert "analysis" not in json.loads((bare / "summary.json").read_text())
