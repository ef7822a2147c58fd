"""``python -m empirical.hessian_sweep``: the main job.

Train one network per (learning rate, seed), measure its Hessian trace, noise-weighted trace and
λ_max, evaluate it under Monte Carlo weight noise at each noise level, and write the results
folder described in ``docs/results.md``. Rerunning the same command resumes: finished runs are
skipped, a killed run is redone.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn

import numpy
import torch
from tqdm import tqdm

from empirical.sweep import config as cfg
from empirical.sweep import estimate, executors, store
from empirical.experiment import run
from empirical.analysis import aggregate, verification
from empirical.experiment.data import DataError
from empirical.sweep.store import NOISE_COLUMNS, RUNS_COLUMNS, RunError

class UsageError(Exception):
    """A one-line user error; the CLI prints it and exits with status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or comma-separated list of numbers") from None


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer or comma-separated list of integers") from None


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m empirical.hessian_sweep",
        description="Train across learning rates and seeds; measure Hessian traces and noisy loss/accuracy.",
        epilog="Lists accept spaces or commas: --lrs 0.01 0.1 or --lrs 0.01,0.1. Values resolve as "
        "preset, then --config file, then flags.",
    )
    p.add_argument("--preset", default="default", help=f"one of {', '.join(cfg.PRESETS)} (default: default)")
    p.add_argument("--config", metavar="FILE.toml", help="TOML file of config keys (top level or [sweep] table)")
    p.add_argument("--out", metavar="DIR", help="results folder (default: results/<preset>)")
    p.add_argument("--overwrite", action="store_true", help="delete an existing results folder made with another config")
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N (default: cpu)")
    p.add_argument(
        "--executor", help="serial, processes (parallel local processes) or slurm (default: processes on the CPU, "
        "serial on a GPU)"
    )  # fmt: skip
    p.add_argument("--jobs", type=int, help="parallel processes for --executor processes (default: cores / cpu_threads)")
    p.add_argument("--dry-run", action="store_true", help="show what would run or be submitted, run nothing")
    p.add_argument("--estimate", action="store_true", help="time a short slice on --device and print the expected cost")
    g = p.add_argument_group("config overrides")
    g.add_argument("--lrs", type=_floats, nargs="+", metavar="LR", help="learning rates")
    g.add_argument("--seeds", type=_ints, nargs="+", metavar="SEED", help="training seeds")
    g.add_argument("--model", help="mlp, cnn1d or resnet20")
    g.add_argument("--activation", help="relu, gelu, tanh, softplus, ...")
    g.add_argument("--dataset", help="mnist1d, cifar10 or mnist")
    g.add_argument("--data-root", metavar="DIR", help="folder with the dataset's files (cifar10, mnist)")
    g.add_argument("--epochs", type=int, help="training epochs")
    g.add_argument("--noise-model", help=", ".join(cfg.NOISE_MODELS))
    g.add_argument("--noise-levels", type=_floats, nargs="+", metavar="ETA", help="noise levels η")
    g.add_argument("--samples", type=int, help="Monte Carlo noise draws per level (even: antithetic pairs)")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except (UsageError, cfg.ConfigError, DataError, RunError) as e:
        print(f"hessian_sweep: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hessian_sweep: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


def _flat(lists: list[list[Any]] | None) -> list[Any] | None:
    """Flatten ``nargs="+"`` lists of comma-separated values; None stays None (no override)."""
    return None if lists is None else [v for sub in lists for v in sub]


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    config = cfg.resolve(
        args.preset,
        args.config,
        lrs=_flat(args.lrs),
        seeds=_flat(args.seeds),
        model=args.model,
        activation=args.activation,
        dataset=args.dataset,
        data_root=args.data_root,
        epochs=args.epochs,
        noise_model=args.noise_model,
        noise_levels=_flat(args.noise_levels),
        samples=args.samples,
    )
    device = _check_device(args.device, here=args.executor != "slurm" or args.estimate)
    slurm = executors.SlurmOptions.from_table(cfg.read_toml(args.config, "slurm") if args.config else {})
    executor = args.executor or ("processes" if device == "cpu" else "serial")
    jobs = args.jobs if args.jobs is not None else max(1, executors.cpu_count() // config.cpu_threads)
    executors.check(executor, jobs, config)
    out = Path(args.out if args.out else f"results/{config.preset}")
    if args.estimate:
        runs = len(config.lrs) * len(config.seeds)
        parallel = {"serial": 1, "processes": jobs, "slurm": min(runs, slurm.array_parallelism)}[executor]
        print(estimate.report(config, device, estimate.measure(config, device), runs, parallel))
        return 0

    run.load_split(config, "train")  # fail on bad data before touching the results folder
    run.load_split(config, "test")
    _prepare_folder(out, config, args.overwrite, device)

    finished = store.finished_runs(out)
    for run_id in finished:
        store.load_run(out / "runs" / run_id)  # an unreadable checkpoint stops here, naming it
    pending = [(lr, s) for lr in config.lrs for s in config.seeds if config.run_id(lr, s) not in finished]
    if args.dry_run:
        print(executors.describe(pending, config, out, executor, jobs, slurm))
        return 0
    total = len(config.lrs) * len(config.seeds)
    print(f"{out}: {total} runs, {total - len(pending)} already finished, {len(pending)} to do", file=sys.stderr)
    with tqdm(total=len(pending), desc="runs", unit="run", file=sys.stderr) as bar:

        def done(record: dict[str, Any]) -> None:
            bar.write(_run_line(record), file=sys.stderr)
            bar.update()
            _assemble(out, config)

        failures = executors.execute_all(pending, config, out, device, executor, jobs, done, slurm)
    table = _assemble(out, config)
    print(table)
    print(f"\nResults in {out}/ (runs.csv, noise.csv, summary.json)")
    if failures:
        print(f"hessian_sweep: {len(failures)} run(s) failed; rerun the same command to redo only those:", file=sys.stderr)
        print("\n".join(f"  {f}" for f in failures), file=sys.stderr)
        return 1
    return 0


def _assemble(out: Path, config: cfg.SweepConfig) -> str:
    """Rebuild runs.csv, noise.csv and summary.json from the run records; returns the tables and verdict."""
    records = list(store.finished_runs(out).values())
    run_rows, noise_rows = store.run_rows(records), store.noise_rows(records)
    store.write_csv(out / "runs.csv", run_rows, RUNS_COLUMNS)
    store.write_csv(out / "noise.csv", noise_rows, NOISE_COLUMNS)
    s = aggregate.build(config.to_dict(), run_rows, noise_rows)
    s["verification"] = verification.build(run_rows, noise_rows, activation=config.activation)
    store.write_json(out / "summary.json", s)
    return aggregate.format_tables(s) + "\n\n" + verification.format_verdict(s["verification"])


def _prepare_folder(out: Path, config: cfg.SweepConfig, overwrite: bool, device: str) -> None:
    """Create ``out`` with ``config.json``; refuse a folder made with another config unless overwriting."""
    existing = out / "config.json"
    if existing.exists():
        try:
            old = json.loads(existing.read_text()).get("sweep")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            old = None
        new = config.to_dict()
        if old != new:
            if not overwrite:
                changed = sorted(k for k in new if (old or {}).get(k) != new[k])
                raise UsageError(
                    f"{out} holds results of a different config (differs in: {', '.join(changed) or 'unreadable config.json'});"
                    " choose another --out or pass --overwrite to delete them"
                )
            shutil.rmtree(out)
    elif out.exists() and any(out.iterdir()):
        if not overwrite:
            raise UsageError(f"{out} exists and is not a results folder; choose another --out or pass --overwrite")
        shutil.rmtree(out)
    if out.exists():
        store.remove_temporaries(out)  # table writes cut short by a kill
    store.write_json(existing, {"sweep": config.to_dict(), "environment": _environment(), "device": device})


def _environment() -> dict[str, Any]:
    try:
        version = metadata.version("noisewise")
    except metadata.PackageNotFoundError:
        version = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "noisewise": version,
        "git_commit": commit,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def _check_device(device: str, here: bool) -> str:
    """Check the device string; with ``here``, also that this machine has it (Slurm runs it elsewhere)."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UsageError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if here and dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {device!r} requested but CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise UsageError(f"device {device!r} is not supported; use cpu, cuda or cuda:N")
    return device


def _run_line(record: dict[str, Any]) -> str:
    m = record["metrics"]
    status = record["status"] + (f" ({m['failure']})" if m.get("failure") else "")
    line = f"lr={record['lr']:g} seed={record['seed']} {status:<8} test_acc={m['test_acc']:.3f}"
    if record["status"] == "ok":
        line += (
            f" tr(H)={m['hessian_trace_test']:.4g}±{m['hessian_trace_test_se']:.2g}"
            f" tr(HΣ₁)={m['noise_trace_test']:.4g}±{m['noise_trace_test_se']:.2g}"
            f" λmax={m['lambda_max_train']:.4g}"
        )
    seconds = sum(v or 0.0 for k, v in m.items() if k.endswith("_seconds"))
    return line + f" ({seconds:.1f} s)"


if __name__ == "__main__":
    sys.exit(main())
