"""``python -m empirical.sensitivity RUN_DIR``: per-layer sensitivity of a finished sweep run.

Loads ``RUN_DIR/run.json`` and ``model.pt`` (``empirical.sweep.store.load_run``), re-creates the
run's data split from its config, runs :func:`empirical.sensitivity.measure` with the run's noise
model, scope, seeds, blocks and levels unless overridden, and prints the overall and per-layer tables.
"""

from __future__ import annotations

import argparse
import sys

from empirical import cli
from empirical.experiment.data import SPLITS
from empirical.experiment.run import load_split
from empirical.sensitivity import tables
from empirical.sensitivity.measure import measure
from empirical.sweep import config, store


def parser() -> argparse.ArgumentParser:
    """The command line: RUN_DIR [--levels ...] [--samples N] [--layer-samples N] [--layers ...] [--split S]."""
    p = cli.parser(
        "python -m empirical.sensitivity",
        "Predict (½η² tr(H_ll Σ₁,ll) + kink term) and measure (Monte Carlo) the loss increase under weight noise "
        "of a finished sweep run, overall and with noise on one layer at a time; check that the layers add up "
        "and that the prediction ranks them right.",
        "Defaults come from the run's config (run.json): noise model and scope, noise levels, draws, seeds.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished run, e.g. results/default/runs/lr0.05_seed0")
    p.add_argument("--levels", type=cli.floats, nargs="+", metavar="ETA",
                   help="noise levels η > 0, e.g. 0.01,0.05 (default: the run's)")  # fmt: skip
    p.add_argument("--samples", type=int, metavar="N", help="overall draws per level, even (default: the run's)")
    p.add_argument("--layer-samples", type=int, metavar="N", help="draws per layer and level, even (default: --samples)")
    p.add_argument("--layers", nargs="+", metavar="NAME", help="noise targets to measure one by one (default: all)")
    p.add_argument("--noise-model", metavar="MODEL", help="layer-relative, multiplicative or additive (default: the run's)")
    p.add_argument("--split", choices=SPLITS, default="test", help="the data split to measure on (default test)")
    return p


def _sensitivity(args: argparse.Namespace) -> int:
    model, record = store.load_run(args.run_dir)
    if record["status"] != "ok":
        raise cli.UsageError(f"run {args.run_dir} has status {record['status']!r} ({record.get('failure')}); "
                             "only a trained run (status 'ok') can be measured")  # fmt: skip
    c = config.resolve(**record["config"])
    x, y = load_split(c, args.split)
    levels = cli.flat(args.levels) or c.noise_levels
    samples = c.samples if args.samples is None else args.samples
    print(f"measuring {record['run_id']} on the {args.split} split ({len(y)} samples)...", file=sys.stderr)
    result = measure(
        model, x, y, noise_model=args.noise_model or c.noise_model, levels=levels, samples=samples,
        layer_samples=args.layer_samples, noise_seed=c.noise_seed, curvature_seed=c.curvature_seed,
        scope=c.noise_scope, layers=args.layers, rel_se=c.trace_rel_se, batch_size=c.eval_batch_size,
        blocks=c.noise_blocks,
    )  # fmt: skip
    print(tables.text(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 on success, 2 with one line on stderr for a bad run folder or argument."""
    return cli.run(parser(), _sensitivity, argv, errors=(ValueError,))


if __name__ == "__main__":
    sys.exit(main())
