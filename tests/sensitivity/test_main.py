"""``python -m empirical.sensitivity RUN_DIR`` on a finished run made by the sweep's own code path."""

import pytest

from empirical.experiment import run
from empirical.sensitivity.__main__ import main
from empirical.sweep import config

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_toml):
    """One finished run of the tiny sweep (lr 0.05, seed 0), executed as every executor does."""
    folder = tmp_path_factory.mktemp("sensitivity")
    (folder / "tiny.toml").write_text(tiny_toml)
    c = config.resolve("smoke", folder / "tiny.toml")
    record = run.execute(c, 0.05, 0, folder / "out")
    assert record["status"] == "ok"
    return folder / "out" / "runs" / record["run_id"]


def test_prints_the_overall_and_per_layer_tables(run_dir, capsys):
    assert main([str(run_dir), "--levels", "0.05", "--samples", "4", "--layer-samples", "2"]) == 0
    out = capsys.readouterr().out
    assert "tr(HΣ₁)" in out and "Kendall" in out
    for layer in ("0.weight", "2.weight", "4.weight", "7.weight"):
        assert f"{layer}  0.05" in out


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--samples", "3"], "samples 3"),
        (["--noise-model", "thermal"], "'thermal'"),
        (["--layers", "9.weight"], "'9.weight'"),
        (["--levels", "0"], "0.0"),
        (["--levels", "x"], "'x'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(run_dir, capsys, extra, named):
    assert main([str(run_dir), *extra]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("sensitivity: error:") and named in errors[0]


def test_a_folder_that_is_not_a_run_exits_2(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "run.json") in err
