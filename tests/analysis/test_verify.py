"""``python -m empirical.verify``: prints the analysis of a results folder or writes it as JSON;
bad input gives one line on stderr and exit status 2."""

from __future__ import annotations

import json
import shutil

import pytest

from empirical import analysis
from empirical import verify
from empirical.sweep import store
from tests.analysis.records import rows, synthetic_records, write_folder


def test_cli_on_a_synthetic_folder_prints_the_verdict_and_writes_json(tmp_path, capsys):
    out = write_folder(tmp_path / "res", synthetic_records())
    assert verify.main([str(out), "--json", str(tmp_path / "v.json"), "--bootstrap", "200"]) == 0
    text = capsys.readouterr().out
    for heading in ("Measured / predicted ΔL", "Breakdown", "Within-lr partial", "Sweet spot", "Verdict:", "- Answer:"):
        assert heading in text
    written = json.loads((tmp_path / "v.json").read_text())
    (model,) = written["noise_models"]
    for key in ("second_order", "fourth_order", "sweet_spot", "identification", "variance", "breakdown", "verdict"):
        assert model[key], key
    direct = analysis.summarize({}, *rows(synthetic_records()), activation="relu", bootstrap=200)["analysis"]
    assert written == json.loads(json.dumps(store._strict(direct)))
    assert verify.main([str(out), "--json", "-", "--bootstrap", "20"]) == 0
    assert json.loads(capsys.readouterr().out)["noise_models"][0]["second_order"]


@pytest.mark.parametrize("case", ["missing", "file", "empty", "corrupt", "badflag", "unknown"])
def test_bad_folder_exits_2_with_one_line(tmp_path, capsys, case):
    target = tmp_path / "res"
    args = [str(target)]
    if case == "file":
        target.write_text("x")
    elif case == "empty":
        target.mkdir()
    elif case == "corrupt":
        write_folder(target, synthetic_records())
        (target / "runs" / "lr0.1_seed0" / "run.json").write_text("{not json")
    elif case == "badflag":
        write_folder(target, synthetic_records())
        args += ["--bootstrap", "0"]
    elif case == "unknown":
        args += ["--frobnicate"]
    assert verify.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("verify: error: ") and "\n" not in err


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        verify.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "RESULTS_DIR" in text and "--json" in text and "nothing is trained" in text


def test_pooling_is_draw_by_draw_from_the_run_records_and_says_so_from_the_csv_files_alone(tmp_path, capsys):
    out = write_folder(tmp_path / "res", synthetic_records(kink_share=0.3, pairs=100))
    assert verify.main([str(out), "--bootstrap", "10"]) == 0
    text = capsys.readouterr().out
    assert "seeds pooled (draw by draw)" in text and "treat runs as independent" not in text
    assert "Kink term (noise at the activation kinks" in text
    shutil.rmtree(out / "runs")  # runs.csv and noise.csv hold no per-draw increases
    assert verify.main([str(out), "--bootstrap", "10"]) == 0
    text = capsys.readouterr().out
    assert "seeds pooled (as independent runs)" in text and "intervals treat runs as independent" in text
