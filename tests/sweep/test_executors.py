"""Executors: local processes and submitit's local executor give the serial tables and resume."""

import csv
from pathlib import Path

import pytest

from empirical.sweep import executors
from empirical import hessian_sweep


def _sweep(config: Path, out: Path, *extra: str) -> int:
    return hessian_sweep.main(["--preset", "smoke", "--config", str(config), "--out", str(out), *extra])


def _table(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return [{k: v for k, v in row.items() if not k.endswith("_seconds")} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def serial_tables(tmp_path_factory, tiny_toml):
    folder = tmp_path_factory.mktemp("serial")
    config = folder / "tiny.toml"
    config.write_text(tiny_toml)
    assert _sweep(config, folder / "res") == 0
    return {name: _table(folder / "res" / name) for name in ("runs.csv", "noise.csv")}


def test_processes_executor_gives_the_serial_tables(tiny_config, tmp_path, serial_tables):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out, "--executor", "processes", "--jobs", "2") == 0
    assert {name: _table(out / name) for name in serial_tables} == serial_tables


def test_submitit_local_executor_gives_the_serial_tables_and_resubmits_only_unfinished(
    tiny_config, tmp_path, serial_tables, capsys
):
    config = tiny_config.parent / "slurm.toml"
    config.write_text(tiny_config.read_text() + '\n[slurm]\ncluster = "local"\ntime_min = 5\n')
    out = tmp_path / "res"
    assert _sweep(config, out, "--executor", "slurm") == 0
    assert {name: _table(out / name) for name in serial_tables} == serial_tables
    # A lost job leaves its run unfinished (no run.json): only that run is submitted again.
    (out / "runs" / "lr0.05_seed0" / "run.json").unlink()
    capsys.readouterr()
    assert _sweep(config, out, "--executor", "slurm", "--dry-run") == 0
    plan = capsys.readouterr().out
    assert "job array of 1 jobs" in plan and "lr0.05_seed0" in plan and "lr1000_seed0" not in plan
    assert _sweep(config, out, "--executor", "processes") == 0  # resumable from another executor too
    assert "1 already finished, 1 to do" in capsys.readouterr().err
    assert {name: _table(out / name) for name in serial_tables} == serial_tables


def test_unknown_executor_and_bad_jobs_and_slurm_keys_are_refused(tiny_config, tmp_path, capsys):
    assert _sweep(tiny_config, tmp_path / "a", "--executor", "kubernetes") == 2
    assert "'kubernetes'" in capsys.readouterr().err
    assert _sweep(tiny_config, tmp_path / "b", "--executor", "processes", "--jobs", "0") == 2
    assert "--jobs 0" in capsys.readouterr().err
    config = tiny_config.parent / "bad_slurm.toml"
    config.write_text(tiny_config.read_text() + "\n[slurm]\nqueue = 'gpu'\n")
    assert _sweep(config, tmp_path / "c", "--executor", "slurm") == 2
    assert "queue" in capsys.readouterr().err


def test_processes_that_would_oversubscribe_the_cores_are_refused(tiny_config, tmp_path, capsys):
    jobs = executors.cpu_count() + 1
    assert _sweep(tiny_config, tmp_path / "res", "--executor", "processes", "--jobs", str(jobs)) == 2
    assert f"--jobs {jobs}" in capsys.readouterr().err


def test_slurm_parameters_carry_partition_gpus_and_extra_options():
    options = executors.SlurmOptions(partition="gpu", gpus_per_node=1, cpus_per_task=8, additional={"qos": "high"})
    params = executors.slurm_parameters(options)
    assert params["slurm_partition"] == "gpu" and params["gpus_per_node"] == 1 and params["cpus_per_task"] == 8
    assert params["slurm_additional_parameters"] == {"qos": "high"}


def test_a_slurm_value_of_the_wrong_type_is_refused_naming_it(tiny_config, tmp_path, capsys):
    config = tiny_config.parent / "typed_slurm.toml"
    config.write_text(tiny_config.read_text() + '\n[slurm]\ntime_min = "5"\n')
    assert _sweep(config, tmp_path / "res", "--executor", "slurm", "--dry-run") == 2
    err = capsys.readouterr().err.strip()
    assert "[slurm] time_min = '5'" in err and "an integer" in err and len(err.splitlines()) == 1
