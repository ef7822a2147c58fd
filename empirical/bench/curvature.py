"""``python -m empirical.bench.curvature``: this package's Hessian trace vs PyHessian's, at 1% error.

Trains the preset's model at a few learning rates (the checkpoints), computes the reference trace
of each on the test split (``empirical.bench.reference``, float64: exact by BackPACK's diagonal or
curvlinops' products, else exact G plus a Hutchinson run on H − G with its se), prints it with its
relative se, then times PyHessian and this package's ``hessian_trace`` on them, interleaved, and
reports per method: products (matvecs), median wall seconds, rms relative error against the
reference, mean reported relative standard error, coverage (fraction of repeats with
|estimate − reference| ≤ 2·√(se² + se_ref²), with a Wilson interval; errors and coverage are left
out, "—", where the reference's relative se exceeds a fifth of the target) and, for ours, in how
many repeats tr(GΣ₁) was sampled rather than exact, with the mean passes ("G sampled": "4/6, 2.5";
"—" for PyHessian).
Per checkpoint, the speed-up is PyHessian's cost at 1% rms error over ours at ``rel_se`` 1%, with
an interval from the repeats; ``speedup_at_1pct`` is the smallest over the checkpoints;
``se_coverage`` is the coverage of our default method over all its repeats. How each figure and
interval is formed: ``empirical.bench.comparison``.

The full run (3 checkpoints, 20 repeats, PyHessian sized to 1% by a pilot) takes well over 15
minutes on a 2-core CPU. ``--quick`` (about 2 minutes) trims it; see the help. Needs the
``[bench]`` extra (BackPACK, curvlinops): ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

from empirical import bench, cli
from empirical.bench import reference
from empirical.bench.comparison import REFERENCE_SHARE, Checkpoint, Plan, benchmark
from empirical.experiment import data, models, noise, run
from empirical.sweep import config as cfg
from empirical.timing import timed

OURS = ("gn", "hutchinson", "hutchpp", "xtrace")
# The full run's values of what --quick trims (--quick also leaves out PyHessian's defaults row);
# probes None: PyHessian's probes sized by the pilot.
FULL: dict[str, Any] = {"lrs": [0.01, 0.05, 0.2], "repeats": 20, "probes": None}
QUICK: dict[str, Any] = {"lrs": [0.2], "repeats": 6, "probes": 40}


def _default(key: str) -> str:
    def show(v: Any) -> str:
        return "sized by the pilot" if v is None else ",".join(map(str, v)) if isinstance(v, list) else str(v)

    return f"(default: {show(FULL[key])}; --quick: {show(QUICK[key])})"


def parser() -> argparse.ArgumentParser:
    """The command line (every option checked in :func:`options`)."""
    p = cli.parser(
        "python -m empirical.bench.curvature",
        __doc__.splitlines()[0].split(": ", 1)[1],
        "--quick keeps what decides the figures: checkpoints trained as in the full run, the whole test split "
        "(PyHessian's per-probe spread, hence its cost at 1%, grows when the split is cut: 1.6-2.6x at 500 of the "
        "2000 samples). It trims the checkpoints to lr 0.2 (the full run's smallest speed-up: its per-probe spread is "
        "the smallest of the three), the repeats (6 instead of 20), PyHessian's timed runs (40 probes instead of "
        "the pilot's ~400-900 for 1%, so no pilot: its cost at 1% is extrapolated from each run's setup and "
        "per-probe seconds, with the probe variance pooled over its runs) and PyHessian's defaults row. Options "
        "given explicitly override --quick.",
    )
    p.add_argument("--quick", action="store_true", help="a ~2-minute run with error bars; see below")
    p.add_argument("--preset", default="default", help="preset of the data, model and training (default: default)")
    p.add_argument("--lrs", type=cli.floats, help=f"learning rates of the checkpoints {_default('lrs')}")
    p.add_argument("--epochs", type=int, help="training epochs of the checkpoints (default: the preset's)")
    p.add_argument("--activation", help="override the preset's activation (e.g. gelu)")
    p.add_argument("--repeats", type=int, help=f"repeats of every method, >= 2 {_default('repeats')}")
    p.add_argument("--methods", default="gn", help=f"our methods, comma-separated, the first is the default "
                   f"({', '.join(OURS)}; default: gn)")  # fmt: skip
    p.add_argument("--target", type=float, default=0.01, help="target relative error (default: 0.01)")
    p.add_argument("--probes", type=int, help=f"PyHessian probes per timed run {_default('probes')}")
    p.add_argument("--pilot", type=int, default=100, help="PyHessian probes of the pilot run that sizes its timed "
                   "run to the target, without --probes (default: 100)")  # fmt: skip
    p.add_argument("--samples", type=int, help="use the first N test samples (default: all)")
    p.add_argument("--threads", type=int, help="torch CPU threads of the timed runs (default: the preset's "
                   "cpu_threads, as its sweep measures curvature)")  # fmt: skip
    p.add_argument("--device", type=bench.device, default="cpu", help="torch device (default: cpu)")
    p.add_argument("--reference", choices=reference.METHODS, default="auto", help="auto: exact where affordable, "
                   "else exact G plus Hutchinson on H − G; split: always the latter (default: auto)")  # fmt: skip
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return p


def options(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with the full run's or --quick's values filled in and every value checked (UsageError)."""
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    checks = [
        (args.repeats >= 2, f"--repeats {args.repeats} must be >= 2 (an interval needs two)"),
        (args.pilot >= 2, f"--pilot {args.pilot} must be >= 2"),
        (args.probes is None or args.probes >= 2, f"--probes {args.probes} must be >= 2"),
        (args.epochs is None or args.epochs >= 1, f"--epochs {args.epochs} must be >= 1"),
        (args.threads is None or args.threads >= 1, f"--threads {args.threads} must be >= 1"),
        (args.samples is None or args.samples >= 2, f"--samples {args.samples} must be >= 2"),
        (0 < args.target < 1, f"--target {args.target} must be in (0, 1)"),
        (bool(args.methods) and all(m in OURS for m in args.methods),
         f"--methods {','.join(args.methods)!r}: expected a comma-separated subset of {', '.join(OURS)}"),
        (bool(args.lrs) and all(lr > 0 and math.isfinite(lr) for lr in args.lrs),
         f"--lrs {','.join(map(str, args.lrs))}: expected learning rates > 0"),
    ]  # fmt: skip
    for ok, message in checks:
        if not ok:
            raise cli.UsageError(message)
    return args


def checkpoints(config: cfg.SweepConfig, lrs: list[float], x: Tensor, y: Tensor, num_classes: int,
                device: torch.device) -> list[Checkpoint]:  # fmt: skip
    """The preset's model trained at each learning rate (seed 0, the preset's CPU threads); diverged
    runs are left out."""
    out = []
    for lr in lrs:
        model = models.build(config.model, tuple(x.shape[1:]), num_classes, activation=config.activation, seed=0)
        model = model.to(device)
        with run.torch_threads(config.cpu_threads):  # as the sweep does: the same checkpoint on every machine
            fit = run.train_model(model, config, lr, 0, x.to(device), y.to(device))
        loss = fit.epoch_losses[-1] if fit.epoch_losses else float("nan")
        print(f"trained {config.model} ({config.activation}) at lr {lr:g} for {fit.epochs} epochs: {fit.status}, "
              f"final train loss {loss:.4f}, {fit.seconds:.1f} s")  # fmt: skip
        if fit.status == "ok":
            out.append(Checkpoint(f"lr={lr:g}", lr, model.eval()))
    return out


def table(result: dict[str, Any]) -> str:
    """The printed table: one line per checkpoint and method, then the speed-ups and coverage."""
    lines = [
        f"{'checkpoint':<12} {'method':<30} {'matvecs':>8} {'seconds':>8} {'rms rel err':>12} {'rel se':>8} "
        f"{'coverage':>9} {'G sampled':>10}"
    ]

    def pct(v: float) -> str:
        return f"{v:.2%}" if v >= 5e-5 else f"{v:.0e}"

    def opt(v: float | None, fmt: Callable[[float], str] = pct) -> str:
        return "—" if v is None else fmt(v)

    for m in result["methods"]:
        sampled = "—" if m.get("gn_sampled") is None else f"{m['gn_sampled']}/{m['repeats']}, {m['gn_passes']:.1f}"
        lines.append(
            f"{m['checkpoint']:<12} {m['name']:<30} {m['matvecs']:>8.0f} {m['seconds']:>8.2f} "
            f"{opt(m['rel_error']):>12} {opt(m['rel_se']):>8} {opt(m['coverage'], '{:.0%}'.format):>9} {sampled:>10}"
        )
    lines.append("")
    target = result["target_rel_error"]
    for r in result["references"]:
        lines.append(f"{r['checkpoint']}: reference ({r['method']}; {r['seconds']:.0f} s)")
        for key, what in (("trace", "tr(H)"), ("noise_trace", "tr(HΣ₁)")):
            if key in r:
                verdict = "" if r[f"{key}_usable"] else (
                    f" > {REFERENCE_SHARE * target:.2%} ({REFERENCE_SHARE:g} of the {target:.0%} target): errors and "
                    f"coverage against it are not reported")  # fmt: skip
                se = f"± {r[f'{key}_se']:.2g}, relative se {pct(r[f'{key}_rel_se'])}" if r[f"{key}_se"] else "(exact)"
                lines.append(f"  {what} = {r[key]:.6g} {se}{verdict}")
    for s in result["speedups"]:
        lo, hi = s["speedup_at_1pct_ci"]
        lines.append(
            f"{s['checkpoint']}: PyHessian {s['pyhessian_seconds']:.2f} s for {s['pyhessian_probes']} probes at "
            f"{opt(s['pyhessian_rel_error'])} rms; per-probe rel. std {s['pyhessian_probe_rel_std']:.3f} -> "
            f"{s['pyhessian_probes_at_1pct']:.0f} probes, {s['pyhessian_seconds_at_1pct']:.2f} s at {target:.0%}; "
            f"ours {s['ours_seconds']:.3f} s at {opt(s['ours_rel_error'], '{:.2g}'.format)} rms -> speed-up "
            f"{s['speedup_at_1pct']:.1f}x [{lo:.1f}, {hi:.1f}]"
        )
    lo, hi = result["speedup_at_1pct_ci"]
    cov = result["se_coverage"]
    cov_text = "—" if cov is None else (
        f"{cov:.1%} [{result['se_coverage_ci'][0]:.1%}, {result['se_coverage_ci'][1]:.1%}] "
        f"of {result['se_coverage_trials']} repeats"
    )  # fmt: skip
    lines.append(
        f"speedup_at_1pct (smallest) = {result['speedup_at_1pct']:.1f}x [{lo:.1f}, {hi:.1f}]; se_coverage "
        f"({result['default_method']}, |error| <= 2 sqrt(se² + se_ref²)) = {cov_text}; intervals at "
        f"{result['interval_level']:.0%}"
    )
    return "\n".join(lines)


def _bench(args: argparse.Namespace, argv: list[str]) -> int:
    args = options(args)
    reference.libraries()  # before any training: MissingExtra says how to install them
    config = cfg.resolve(args.preset, activation=args.activation, epochs=args.epochs)
    x_train, y_train = run.load_split(config, "train")
    x_test, y_test = run.load_split(config, "test")
    x_test, y_test = x_test[: args.samples], y_test[: args.samples]
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    trained = checkpoints(config, args.lrs, x_train, y_train, num_classes, args.device)
    if not trained:
        raise cli.UsageError(f"--lrs {','.join(map(str, args.lrs))}: every checkpoint diverged in training")

    def scale_fn(model: nn.Module) -> dict[str, Tensor]:
        return noise.scale(model, config.noise_model, noise.targets(model, config.noise_scope))

    threads = config.cpu_threads if args.threads is None else args.threads
    plan = Plan(args.repeats, args.target, args.methods, args.pilot, args.probes, not args.quick, args.device,
                args.reference)  # fmt: skip
    out: dict[str, Any] = {}
    with run.torch_threads(threads):
        seconds = timed(lambda: out.update(result=benchmark(trained, x_test, y_test, scale_fn, plan)), args.device)
    result = out["result"]
    result.update(
        command=" ".join(["python -m empirical.bench.curvature", *argv]), quick=args.quick,
        preset=args.preset, model=config.model, activation=config.activation, epochs=config.epochs,
        noise_model=config.noise_model, test_samples=len(y_test),
        parameters=sum(p.numel() for p in trained[0].model.parameters()), device=str(args.device),
        torch=torch.__version__, threads=threads, bench_seconds=seconds,
    )  # fmt: skip
    print()
    print(table(result))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 on success, 2 with one line on stderr for a bad argument or missing extra."""
    argv = sys.argv[1:] if argv is None else list(argv)
    errors = (cfg.ConfigError, data.DataError, reference.MissingExtra)
    return cli.run(parser(), lambda args: _bench(args, argv), argv, errors=errors)


if __name__ == "__main__":
    sys.exit(main())
