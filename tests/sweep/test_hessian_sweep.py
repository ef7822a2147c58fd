"""The main job end to end: contract files, resume, kill -9, determinism and bad input."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import empirical
from empirical import hessian_sweep
from empirical.sweep.store import NOISE_COLUMNS, RUNS_COLUMNS

REPO = Path(__file__).resolve().parents[2]


def _sweep(config: Path, out: Path, *extra: str) -> int:
    """The CLI on the tiny config; serial unless ``extra`` names an executor (test_executors covers the others,
    and spawning worker processes would cost more than the tiny runs)."""
    executor = [] if "--executor" in extra else ["--executor", "serial"]
    return hessian_sweep.main(["--preset", "smoke", "--config", str(config), "--out", str(out), *executor, *extra])


def _table(path: Path) -> list[dict[str, str]]:
    """CSV rows without wall-clock columns (timings differ between runs by nature)."""
    with path.open() as f:
        return [{k: v for k, v in row.items() if not k.endswith("_seconds")} for row in csv.DictReader(f)]


def test_sweep_writes_every_contract_file(tiny_config, tmp_path, capsys):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out) == 0
    for name in ("config.json", "runs.csv", "noise.csv", "summary.json"):
        assert (out / name).stat().st_size > 0
    with (out / "runs.csv").open() as f:
        reader = csv.DictReader(f)
        assert set(RUNS_COLUMNS) <= set(reader.fieldnames)
        runs = {r["run_id"]: r for r in reader}
    with (out / "noise.csv").open() as f:
        reader = csv.DictReader(f)
        assert set(NOISE_COLUMNS) <= set(reader.fieldnames)
        noise_rows = list(reader)
    ok, diverged = runs["lr0.05_seed0"], runs["lr1000_seed0"]
    assert ok["status"] == "ok" and diverged["status"] == "diverged"
    assert float(ok["hessian_trace_test"]) > 0 and float(ok["hessian_trace_test_se"]) >= 0
    assert diverged["hessian_trace_test"] == "" and diverged["noise_trace_test"] == ""
    assert len(noise_rows) == 4  # 2 runs × 2 levels; the diverged run's rows have empty measurements
    ok_rows = [r for r in noise_rows if r["run_id"] == "lr0.05_seed0"]
    for r in ok_rows:
        eta = float(r["noise_level"])
        assert float(r["predicted_delta_loss"]) == pytest.approx(0.5 * eta**2 * float(ok["noise_trace_test"]))
        assert float(r["normalized_acc"]) == pytest.approx(float(r["noisy_acc_mean"]) / float(r["clean_acc"]))
    config = json.loads((out / "config.json").read_text())
    assert config["sweep"]["epochs"] == 2 and config["environment"]["torch"] == torch.__version__
    summary = json.loads((out / "summary.json").read_text())
    assert [a["lr"] for a in summary["per_lr"]] == [0.05, 1000.0]
    model, record = empirical.load_run(out / "runs" / "lr0.05_seed0")
    assert not model.training and record["status"] == "ok" and record["config"]["dataset"] == "mnist1d"
    state = torch.load(out / "runs" / "lr0.05_seed0" / "model.pt", weights_only=True)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert "Sweet spot" in capsys.readouterr().out


def test_rerun_skips_finished_runs_and_a_fresh_run_gives_identical_tables(tiny_config, tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    assert _sweep(tiny_config, first) == 0
    before = {n: (first / n).read_bytes() for n in ("runs.csv", "noise.csv")}
    assert _sweep(tiny_config, first) == 0
    assert "2 already finished, 0 to do" in capsys.readouterr().err
    assert before == {n: (first / n).read_bytes() for n in ("runs.csv", "noise.csv")}
    assert _sweep(tiny_config, second) == 0
    for name in ("runs.csv", "noise.csv"):
        assert _table(first / name) == _table(second / name)


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name: [state, parent id, ...]."""
    return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()


def _descendants(pid: int) -> set[int]:
    """The ids of the processes below ``pid`` (its workers, and the forkserver they fork from); empty without /proc."""
    if not Path("/proc/self/stat").exists():
        return set()
    parents = {}
    for entry in Path("/proc").iterdir():
        try:
            parents[int(entry.name)] = int(_stat(entry.name)[1])
        except (ValueError, OSError):
            continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _descendants_alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie, dead but not yet reaped, does not count)."""
    alive = set()
    for pid in pids:
        try:
            if _stat(pid)[0] != "Z":
                alive.add(pid)
        except OSError:
            continue
    return alive


def test_killed_sweep_resumes_to_the_same_results(tiny_config, tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    assert _sweep(tiny_config, reference) == 0
    cmd = [sys.executable, "-m", "empirical.hessian_sweep", "--preset", "smoke", "--config", str(tiny_config)]
    proc = subprocess.Popen([*cmd, "--out", str(killed)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list((killed / "runs").glob("*/model.pt")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    workers = _descendants(proc.pid)
    assert workers or not Path("/proc/self/stat").exists(), "the sweep started no worker processes"
    os.kill(proc.pid, signal.SIGKILL)  # mid-run: a checkpoint exists, its run.json may not
    proc.wait()
    deadline = time.time() + 20
    while _descendants_alive(workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not _descendants_alive(workers), "worker processes outlived the killed sweep"
    done = subprocess.run([*cmd, "--out", str(killed)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("runs.csv", "noise.csv"):
        assert _table(reference / name) == _table(killed / name)
    assert not list(killed.rglob("*.tmp"))


def test_temporaries_of_killed_writes_are_removed_on_rerun(tiny_config, tmp_path):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out) == 0
    run_dir = out / "runs" / "lr0.05_seed0"
    (run_dir / "run.json").unlink()  # as if killed before the run finished ...
    strays = [run_dir / ".model.pt.x1.tmp", out / ".runs.csv.x2.tmp"]  # ... in the middle of writes
    for stray in strays:
        stray.write_bytes(b"partial")
    assert _sweep(tiny_config, out) == 0
    assert not any(p.exists() for p in strays) and (run_dir / "run.json").exists()


def test_a_different_config_into_an_existing_folder_is_refused_and_results_stay(tiny_config, tmp_path, capsys):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert _sweep(tiny_config, out, "--epochs", "3") == 2
    err = capsys.readouterr().err
    assert "epochs" in err and "--overwrite" in err
    assert before == {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--lrs", "0.1,0"], "0.0"),
        (["--lrs", "-1"], "-1"),
        (["--model", "vgg"], "'vgg'"),
        (["--dataset", "imagenet"], "'imagenet'"),
        (["--noise-model", "gaussian"], "'gaussian'"),
        (["--noise-levels", "0.1", "-0.5"], "-0.5"),
        (["--lrs", "abc"], "'abc'"),
        (["--noise-model", "pcm", "--noise-levels", "3600", "0"], "inference time 0.0 s"),
        (["--noise-model", "pcm", "--noise-levels", "-1"], "inference time -1.0 s"),
        (["--noise-model", "pcm", "--pcm-g-max", "0"], "pcm_g_max 0.0"),
        (["--noise-blocks", "0"], "noise_blocks 0"),
        (["--noise-blocks", "100000"], "noise_blocks 100000"),
        (["--noise-model", "pcm", "--estimate"], "--estimate does not time the pcm noise model"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_value(tiny_config, tmp_path, capsys, flags, named):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out, *flags) == 2
    err = capsys.readouterr().err.strip()
    assert named in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_missing_data_root_exits_2_naming_the_path(tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["--preset", "smoke", "--out", str(out), "--dataset", "cifar10", "--data-root", "/nonexistent/cifar",
            "--executor", "serial"]  # no forkserver for a sweep that stops at its checks
    assert hessian_sweep.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "/nonexistent/cifar" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_unreadable_checkpoint_exits_2_naming_it_without_traceback(tiny_config, tmp_path):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out) == 0
    checkpoint = out / "runs" / "lr0.05_seed0" / "model.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    cmd = [sys.executable, "-m", "empirical.hessian_sweep", "--preset", "smoke", "--config", str(tiny_config)]
    done = subprocess.run([*cmd, "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert str(checkpoint) in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("inside", [False, True])
def test_out_naming_a_file_exits_2_naming_it(tiny_config, tmp_path, capsys, inside):
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    out = file / "res" if inside else file
    assert _sweep(tiny_config, out) == 2
    err = capsys.readouterr().err.strip()
    assert f"{file} is a file" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert file.read_text() == "keep me"


def test_a_config_value_of_the_wrong_type_exits_2_naming_it(tmp_path, capsys):
    toml = tmp_path / "bad.toml"
    toml.write_text('lrs = "0.1"\n')
    assert _sweep(toml, tmp_path / "res") == 2
    err = capsys.readouterr().err.strip()
    assert err == "hessian_sweep: error: lrs = '0.1' has the wrong type; give a list of numbers"


def test_noise_level_zero_exits_2_saying_levels_must_be_positive(tiny_config, tmp_path, capsys):
    assert _sweep(tiny_config, tmp_path / "res", "--noise-levels", "0,0.05") == 2
    err = capsys.readouterr().err.strip()
    assert "noise level 0.0" in err and "> 0" in err and len(err.splitlines()) == 1


def _files(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_dry_run_writes_nothing_and_a_real_run_with_other_flags_then_starts_cleanly(tiny_config, tmp_path, capsys):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out, "--dry-run", "--epochs", "3") == 0
    assert "would create it" in capsys.readouterr().out and not out.exists()
    assert _sweep(tiny_config, out, "--dry-run", "--noise-levels", "0") == 2  # still checks the config
    assert not out.exists()
    assert _sweep(tiny_config, out, "--lrs", "0.05") == 0
    assert json.loads((out / "config.json").read_text())["sweep"]["epochs"] == 2


def test_dry_run_on_existing_results_reports_what_would_happen_and_changes_nothing(tiny_config, tmp_path, capsys):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out) == 0
    before = _files(out)
    capsys.readouterr()
    assert _sweep(tiny_config, out, "--dry-run") == 0
    assert "would resume it" in capsys.readouterr().out
    assert _sweep(tiny_config, out, "--dry-run", "--epochs", "3") == 2  # would be refused: results exist
    assert "epochs" in capsys.readouterr().err
    assert _sweep(tiny_config, out, "--dry-run", "--epochs", "3", "--overwrite") == 0
    plan = capsys.readouterr().out
    assert "would delete its results" in plan and "lr0.05_seed0" in plan and "lr1000_seed0" in plan
    assert _files(out) == before


def test_another_config_replaces_config_json_when_no_run_has_finished(tiny_config, tmp_path, capsys):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out, "--lrs", "0.05") == 0
    (out / "runs" / "lr0.05_seed0" / "run.json").unlink()  # killed before it finished: nothing measured
    capsys.readouterr()
    assert _sweep(tiny_config, out, "--lrs", "0.05", "--epochs", "3") == 0
    assert "replace its config.json (which differs in: epochs)" in capsys.readouterr().err
    assert json.loads((out / "config.json").read_text())["sweep"]["epochs"] == 3
    assert json.loads((out / "runs" / "lr0.05_seed0" / "run.json").read_text())["config"]["epochs"] == 3


def test_help_lists_every_option_with_its_help(capsys):
    with pytest.raises(SystemExit) as info:
        hessian_sweep.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for action in hessian_sweep.parser()._actions:
        assert action.help, action.option_strings
        assert all(option in text for option in action.option_strings)


def test_an_ambiguous_option_is_one_line_on_stderr(capsys):
    assert hessian_sweep.main(["--preset", "smoke", "--executor", "serial", "--e", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ambiguous option: --e" in err


def test_ctrl_c_exits_130_with_the_resume_hint(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(hessian_sweep, "_sweep", interrupted)
    assert hessian_sweep.main(["--preset", "smoke", "--executor", "serial"]) == 130
    assert capsys.readouterr().err.strip() == "hessian_sweep: interrupted; rerun the same command to resume"


def test_pcm_sweep_rows_carry_the_inference_time_and_the_mean_term(tiny_config, tmp_path, capsys):
    out = tmp_path / "pcm"
    assert _sweep(tiny_config, out, "--noise-model", "pcm", "--noise-levels", "1", "86400") == 0
    with (out / "noise.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["run_id"] == "lr0.05_seed0"]
    assert [float(r["inference_seconds"]) for r in rows] == [1.0, 86400.0]
    for r in rows:
        assert r["noise_model"] == "pcm" and float(r["delta_loss_se"]) > 0
        mean_part, predicted = float(r["mean_delta_loss"]), float(r["predicted_delta_loss"])
        assert mean_part != 0.0 and predicted != mean_part  # drift has a mean; the covariance adds to it
    record = json.loads((out / "runs" / "lr0.05_seed0" / "run.json").read_text())
    assert record["metrics"]["mean_terms_seconds"] > 0 and record["metrics"]["kink_seconds"] is None
    assert "Time of the 2 run(s) executed" in capsys.readouterr().out


def test_a_sweep_records_and_prints_where_its_time_went(tiny_config, tmp_path, capsys):
    out = tmp_path / "res"
    assert _sweep(tiny_config, out) == 0
    record = json.loads((out / "runs" / "lr0.05_seed0" / "run.json").read_text())
    m = record["metrics"]
    parts = [m[f"{p}_seconds"] for p in ("data", "train", "clean", "trace", "lambda_max", "kink", "noise")]
    assert all(s > 0 for s in parts[1:]) and m["run_seconds"] == pytest.approx(sum(
        v for k, v in m.items() if k.endswith("_seconds") and k != "run_seconds" and v is not None))
    diverged = json.loads((out / "runs" / "lr1000_seed0" / "run.json").read_text())["metrics"]
    assert diverged["train_seconds"] > 0 and diverged["noise_seconds"] is None
    printed = capsys.readouterr().out
    assert "Time of the 2 run(s) executed" in printed and "  noise " in printed


def test_extra_noise_models_and_layers_get_their_own_rows(tiny_toml, tmp_path):
    config = tmp_path / "extra.toml"
    config.write_text(tiny_toml.replace("samples = 4\n", "samples = 4\nnoise_blocks = 2\nlayer_levels = [0.5]\n"
                                        "layer_seeds = [0]\nlayer_samples = 4\n")
                      + "[sweep.extra_noise_models]\nadditive = [0.01]\n")  # fmt: skip
    out = tmp_path / "res"
    assert _sweep(config, out) == 0
    with (out / "noise.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["run_id"] == "lr0.05_seed0"]
    by_model = {r["noise_model"]: r for r in rows if r["noise_model"] == "additive"}
    additive = by_model["additive"]
    relative = next(r for r in rows if r["noise_model"] == "layer-relative")
    assert additive["noise_level"] == "0.01" and additive["noise_trace"] != relative["noise_trace"]
    assert float(additive["predicted_delta_loss"]) == pytest.approx(0.5 * 0.01**2 * float(additive["noise_trace"]))
    with (out / "layers.csv").open() as f:
        layers = list(csv.DictReader(f))
    record = json.loads((out / "runs" / "lr0.05_seed0" / "run.json").read_text())
    # One row per noise target at the one level (large: below ~1e-5 nats float32 losses resolve no increase).
    assert [r["layer"] for r in layers] == record["noise_targets"]
    assert all(float(r["measured_se"]) > 0 and r["noise_model"] == "layer-relative" for r in layers)


def test_a_sweep_with_extra_noise_models_resumes(tiny_toml, tmp_path):
    config = tmp_path / "extra.toml"
    config.write_text(tiny_toml + "[sweep.extra_noise_models]\nadditive = [0.01]\n")
    out = tmp_path / "res"
    assert _sweep(config, out) == 0
    assert _sweep(config, out) == 0  # config.json read back equals the config: nothing to redo, no refusal
