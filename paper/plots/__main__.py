"""``python -m paper.plots RESULTS_DIR``: every figure (and with ``--tex`` the LaTeX fragments; with
``--control`` a smooth sweep's panel in figure 8)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paper.plots import latex, load, render
from paper.plots.load import ResultsError

PAPER = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m paper.plots",
        description="Draw every figure of the paper (PDF and PNG) from a results folder; nothing is trained "
        "or estimated.",
    )
    p.add_argument(
        "results", type=Path, metavar="RESULTS_DIR", help="results folder: runs.csv, noise.csv, summary.json, config.json"
    )
    p.add_argument(
        "--control", type=Path, metavar="SMOOTH_DIR",
        help="results folder of a smooth-activation sweep (e.g. --activation gelu): a control panel in figure 8",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=PAPER / "figures", help=f"figure folder (default: {PAPER / 'figures'})")
    p.add_argument("--tex", type=Path, metavar="DIR", help="also write setup.tex and results_table.tex into DIR")
    args = p.parse_args(argv)
    try:
        results = load(args.results)
        paths = render(results, args.out, load(args.control) if args.control else None)
        if args.tex:
            paths += latex.write(results, args.tex)
    except ResultsError as e:
        print(f"paper.plots: error: {e}", file=sys.stderr)
        return 2
    print(f"paper.plots: wrote {len(paths)} files from {args.results}: {', '.join(sorted({str(q.parent) for q in paths}))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
