"""``python -m empirical.verify RESULTS_DIR``: does the theory predict the measurement?

Reads a results folder (``empirical.analysis.load``), analyses it (``empirical.analysis.summarize``)
and prints, per noise model, the verdict (the answer first) and the tables, or writes the analysis as
JSON. Pure analysis: nothing is trained or recomputed; the same analysis is ``summary.json["analysis"]``
after every sweep.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from empirical import analysis, cli
from empirical.analysis import tables
from empirical.analysis.load import LoadError, layer_rows, load, noise_model
from empirical.sweep import store


def parser() -> argparse.ArgumentParser:
    """The command line: RESULTS_DIR [--json PATH] [--bootstrap N] [--seed S]."""
    p = cli.parser(
        "python -m empirical.verify",
        "Compare the theory's predictions of the loss increase under weight noise (second and fourth order, "
        "the activation-kink term, variance, sweet spot against its null, what explains ΔL beyond the learning rate) with "
        "the measurements in a results folder, and print the verdict. Pure analysis: "
        "nothing is trained or recomputed.",
        "The same analysis is summary.json['analysis'] after every sweep.",
    )
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="a results folder (e.g. results/default)")
    p.add_argument("--json", metavar="PATH", help="also write the analysis as JSON to PATH ('-': stdout, no table)")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=analysis.BOOTSTRAP,
        help=f"bootstrap replicates over seeds within lr and shared noise draws (default {analysis.BOOTSTRAP})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default 0)")
    return p


def _verify(args: argparse.Namespace) -> int:
    if args.bootstrap < 1:
        raise cli.UsageError(f"--bootstrap {args.bootstrap} is invalid; give an integer >= 1")
    run_rows, noise_rows, activation = load(args.results_dir)
    options = {"activation": activation, "bootstrap": args.bootstrap, "seed": args.seed,
               "layer_rows": layer_rows(args.results_dir), "reference": noise_model(args.results_dir)}  # fmt: skip
    v = analysis.analyse(run_rows, noise_rows, **options)
    if args.json == "-":
        print(json.dumps(store._strict(v), indent=2))
        return 0
    print(tables.analysis(v))
    if args.json:
        store.write_json(Path(args.json), v)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 on success, 2 with one line on stderr for a bad folder or argument."""
    return cli.run(parser(), _verify, argv, errors=(LoadError, store.RunError))


if __name__ == "__main__":
    sys.exit(main())
