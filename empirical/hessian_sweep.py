"""``python -m empirical.hessian_sweep``: the main job.

Train one network per (learning rate, seed), measure its Hessian trace, noise-weighted trace and
λ_max, evaluate it under Monte Carlo weight noise at each noise level, and write the results
folder described in ``docs/results.md``. Rerunning the same command resumes: finished runs are
skipped, a killed run is redone.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from empirical import cli
from empirical.sweep import config as cfg
from empirical.sweep import executors

# torch and the measurement stack (about 4 s of imports) are imported inside the functions that use
# them: main() first starts the workers' forkserver, whose own imports then overlap this process's.


def parser() -> argparse.ArgumentParser:
    """The command line: preset, config file and flags, results folder, device and executor."""
    from empirical.experiment.data import DATASETS
    from empirical.experiment.models import ACTIVATIONS, MODELS

    p = cli.parser(
        "python -m empirical.hessian_sweep",
        "Train across learning rates and seeds; measure Hessian traces and noisy loss/accuracy.",
        "Lists accept spaces or commas: --lrs 0.01 0.1 or --lrs 0.01,0.1. Values resolve as "
        "preset, then --config file, then flags.",
    )
    p.add_argument("--preset", default="default", help=f"one of {', '.join(cfg.PRESETS)} (default: default)")
    p.add_argument("--config", metavar="FILE.toml", help="TOML file of config keys (top level or [sweep] table)")
    p.add_argument("--out", metavar="DIR", help="results folder (default: results/<preset>)")
    p.add_argument(
        "--overwrite", action="store_true", help="delete --out first if it holds finished runs of another "
        "config or is not a results folder (one without finished runs just gets the new config.json)"
    )  # fmt: skip
    p.add_argument("--device", default="cpu", help="torch device: cpu, cuda, cuda:N (default: cpu)")
    p.add_argument(
        "--executor", help="serial, processes (parallel local processes) or slurm (default: processes on the CPU, "
        "serial on a GPU)"
    )  # fmt: skip
    p.add_argument("--jobs", type=int, help="parallel processes for --executor processes (default: cores / cpu_threads)")
    p.add_argument(
        "--dry-run", action="store_true", help="check config and data, show what would happen to --out and which runs "
        "would start or be submitted; write nothing"
    )  # fmt: skip
    p.add_argument(
        "--estimate", action="store_true", help="time slices of one run on --device and print the expected cost per "
        "run and for the sweep; write nothing"
    )  # fmt: skip
    g = p.add_argument_group("config overrides")
    g.add_argument("--lrs", type=cli.floats, nargs="+", metavar="LR", help="learning rates")
    g.add_argument("--seeds", type=cli.ints, nargs="+", metavar="SEED", help="training seeds")
    g.add_argument("--model", help=", ".join(MODELS))
    g.add_argument("--activation", help=", ".join(ACTIVATIONS))
    g.add_argument("--dataset", help=", ".join(DATASETS))
    g.add_argument("--data-root", metavar="DIR", help="folder with the dataset's files (cifar10, mnist)")
    g.add_argument("--epochs", type=int, help="training epochs")
    g.add_argument("--noise-model", help=", ".join(cfg.NOISE_MODELS) + " (pcm: phase-change memory; its levels are "
                   "times in seconds after programming, by default 1 s, 1 h, 1 day, 30 days, 365 days)")
    g.add_argument("--pcm-g-max", type=float, metavar="µS", help="pcm: the largest target conductance (default 25)")
    g.add_argument("--noise-levels", type=cli.floats, nargs="+", metavar="ETA", help="noise levels η > 0 (pcm: times "
                   "in seconds > 0)")
    g.add_argument("--samples", type=int, help="Monte Carlo noisy passes over the test split per level (even: "
                   "antithetic pairs)")
    g.add_argument("--noise-blocks", type=int, metavar="B", help="draws per noisy pass: the test split is dealt into "
                   "B blocks, each with its own draw (1: one draw per pass, as one device sees it)")
    g.add_argument("--control-directions", type=int, metavar="K", help="top curvature directions of the Monte "
                   "Carlo's control variate (0: the plain Monte Carlo; default 20)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command: 0 when every run finished, 1 when Slurm jobs failed, 2 with one line on
    stderr for bad input, 130 on Ctrl-C (rerunning resumes).

    A local process sweep's forkserver starts before the command line is checked in full (its imports
    overlap this process's); after bad input it finishes them, a few seconds of one core, and exits.
    """
    executors.start_early(_early_executor(sys.argv[1:] if argv is None else argv))
    from empirical.experiment.data import DataError
    from empirical.sweep.store import RunError

    errors = (cfg.ConfigError, DataError, RunError)
    return cli.run(parser(), _sweep, argv, errors=errors, interrupted="interrupted; rerun the same command to resume")


def _executor(executor: str | None, device: str) -> str:
    """The executor of a sweep: the one named, else processes on the CPU and serial on a GPU."""
    return executor or ("processes" if device == "cpu" else "serial")


def _early_executor(argv: list[str]) -> str:
    """The executor whose workers :func:`main` may start before parsing ``argv`` in full: the sweep's
    (:func:`_executor`) for a command line that will run one, "serial" (nothing to start) otherwise."""
    p = cli.parser("python -m empirical.hessian_sweep", "", add_help=False, allow_abbrev=False)
    p.add_argument("--executor")
    p.add_argument("--device", default="cpu")
    for flag in ("-h", "--help", "--dry-run", "--estimate"):
        p.add_argument(flag, action="store_true")
    try:
        known = p.parse_known_args(argv)[0]
    except cli.UsageError:  # a bad command line: the full parser will say why, in one line
        return "serial"
    return "serial" if known.help or known.dry_run or known.estimate else _executor(known.executor, known.device)


def _config(args: argparse.Namespace) -> cfg.SweepConfig:
    """The preset, then the ``--config`` file, then the override flags, resolved and checked."""
    return cfg.resolve(
        args.preset,
        args.config,
        lrs=cli.flat(args.lrs),
        seeds=cli.flat(args.seeds),
        model=args.model,
        activation=args.activation,
        dataset=args.dataset,
        data_root=args.data_root,
        epochs=args.epochs,
        noise_model=args.noise_model,
        pcm_g_max=args.pcm_g_max,
        noise_levels=cli.flat(args.noise_levels),
        samples=args.samples,
        noise_blocks=args.noise_blocks,
        control_directions=args.control_directions,
    )


def _sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from empirical.experiment import run
    from empirical.sweep import costs, estimate, folder, store

    config = _config(args)
    device = _check_device(args.device, here=args.executor != "slurm" or args.estimate)
    slurm = executors.SlurmOptions.from_table(cfg.read_toml(args.config, "slurm") if args.config else {})
    executor = _executor(args.executor, device)
    jobs = args.jobs if args.jobs is not None else max(1, executors.cpu_count() // config.cpu_threads)
    executors.check(executor, jobs, config)
    out = Path(args.out if args.out else f"results/{config.preset}")
    runs = len(config.lrs) * len(config.seeds)
    parallel = {"serial": 1, "processes": jobs, "slurm": min(runs, slurm.array_parallelism)}[executor]  # at a time
    if args.estimate:
        print(estimate.report(config, device, estimate.measure(config, device), runs, parallel))
        return 0

    if not args.dry_run:
        executors.start_early(executor)  # main() started it already, unless options were abbreviated
    run.load_split(config, "train")  # fail on bad data before touching the results folder
    test_size = len(run.load_split(config, "test")[1])
    if config.noise_blocks > test_size:
        raise cfg.ConfigError(f"noise_blocks {config.noise_blocks} is invalid; the test split has {test_size} samples")
    action, plan = folder.plan(out, config, args.overwrite)
    finished = {} if action == "reset" else store.finished_runs(out)
    for run_id in finished:
        store.load_run(out / "runs" / run_id)  # an unreadable checkpoint stops here, naming it
    pending = [(lr, s) for lr in config.lrs for s in config.seeds if config.run_id(lr, s) not in finished]
    if args.dry_run:
        print(f"dry run, nothing written; {out}: would {plan}")
        print(executors.describe(pending, config, out, executor, jobs, slurm))
        return 0
    if action in ("replace", "reset"):
        print(f"{out}: will {plan}", file=sys.stderr)
    folder.prepare(out, config, action, device)
    print(f"{out}: {runs} runs, {runs - len(pending)} already finished, {len(pending)} to do", file=sys.stderr)
    executed: list[dict[str, Any]] = []
    start = time.perf_counter()
    with tqdm(total=len(pending), desc="runs", unit="run", file=sys.stderr) as bar:

        def done(record: dict[str, Any]) -> None:
            executed.append(record)
            bar.write(_run_line(record), file=sys.stderr)
            bar.update()
            folder.assemble(out, config, summary=False)

        failures = executors.execute_all(pending, config, out, device, executor, jobs, done, slurm)
    wall = time.perf_counter() - start
    table = folder.assemble(out, config)
    print(table)
    print("\n" + costs.report(executed, wall, min(parallel, max(1, len(pending)))))
    print(f"\nResults in {out}/ (runs.csv, noise.csv, summary.json)")
    if failures:
        print(f"hessian_sweep: {len(failures)} run(s) failed; rerun the same command to redo only those:", file=sys.stderr)
        print("\n".join(f"  {f}" for f in failures), file=sys.stderr)
        return 1
    return 0


def _check_device(device: str, here: bool) -> str:
    """Check the device string; with ``here``, also that this machine has it (Slurm runs it elsewhere)."""
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise cli.UsageError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if here and dev.type == "cuda" and not torch.cuda.is_available():
        raise cli.UsageError(f"device {device!r} requested but CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise cli.UsageError(f"device {device!r} is not supported; use cpu, cuda or cuda:N")
    return device


def _run_line(record: dict[str, Any]) -> str:
    m = record["metrics"]
    status = record["status"] + (f" ({m['failure']})" if m.get("failure") else "")
    line = f"lr={record['lr']:g} seed={record['seed']} {status:<8} test_acc={m['test_acc']:.3f}"
    if record["status"] == "ok":
        line += f" tr(H)={m['hessian_trace_test']:.4g}±{m['hessian_trace_test_se']:.2g}"
        if "noise_trace_test" in m:  # the Gaussian noise models
            line += f" tr(HΣ₁)={m['noise_trace_test']:.4g}±{m['noise_trace_test_se']:.2g}"
        line += f" λmax={m['lambda_max_train']:.4g}"
    return line + f" ({m['run_seconds']:.1f} s)"


if __name__ == "__main__":
    sys.exit(main())
