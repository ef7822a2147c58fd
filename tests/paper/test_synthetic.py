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
    assert {"per_lr", "sweet_spot", "agreement", "verification"} <= set(s)
    assert [a["diverged"] for a in s["per_lr"]] == [0, 0, 0, 1]
    assert set(s["verification"]) == {"by_lr", "second_order", "fourth_order", "sweet_spot", "spearman"}
    bare = write_results(tmp_path / "bare", verification=False)
    assert "verification" not in json.loads((bare / "summary.json").read_text())
