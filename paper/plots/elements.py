"""Artists the figures share: means with 95% CI bars, single runs with their Monte Carlo SE,
diverged-run markers, and a footer naming the results and what they lack."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

from paper.plots.load import Results, Stats

DIVERGED = {"marker": "x", "color": "black", "markersize": 7, "markeredgewidth": 1.6, "linestyle": "none"}
FOOTER_LINE = 0.13  # inches per footer line
FOOTER_CHARS = 21  # characters per inch of footer line (6 pt sans-serif)


def bars(err: np.ndarray) -> np.ndarray:
    """Error-bar lengths with undefined (NaN) ones as zero: no bar rather than no point."""
    return np.where(np.isfinite(err), err, 0.0)


def ci_err(stats: Stats) -> np.ndarray:
    """Asymmetric error-bar lengths (2, n) from a 95% interval."""
    return bars(np.vstack([stats.mean - stats.low, stats.high - stats.mean]))


def mean_ci(ax: Any, x: np.ndarray, stats: Stats, **style: Any) -> Any:
    """Per-lr means joined by a line, with 95% t-interval bars over seeds."""
    return ax.errorbar(x, stats.mean, yerr=ci_err(stats), **style)


def runs(ax: Any, x: np.ndarray, y: np.ndarray, se: np.ndarray, **style: Any) -> Any:
    """Single runs as small hollow markers with ±1 Monte Carlo (estimator) standard error bars."""
    style = {"markersize": 3, "alpha": 0.6, "elinewidth": 0.6, "capsize": 0, "linestyle": "none", **style}
    style["markerfacecolor"] = "none"
    return ax.errorbar(x, y, yerr=bars(se), **style)


def diverged(ax: Any, at: np.ndarray, counts: np.ndarray, totals: np.ndarray, which: str = "x") -> None:
    """Mark learning rates with diverged seeds by an "x" at the axis edge, labelled k/n seeds.

    ``at`` are the lrs' positions on axis ``which`` (data coordinates); the marks sit at the
    bottom (``which="x"``) or right (``which="y"``) edge, and the legend gets a "diverged" entry.
    """
    hit = counts > 0
    if not hit.any():
        return
    if which == "x":
        transform = blended_transform_factory(ax.transData, ax.transAxes)
        xs, ys, offset = at[hit], np.full(hit.sum(), 0.04), (0, 6)
    else:
        transform = blended_transform_factory(ax.transAxes, ax.transData)
        xs, ys, offset = np.full(hit.sum(), 0.96), at[hit], (-6, 0)
    ax.plot(xs, ys, transform=transform, clip_on=False, label="diverged (k/n seeds)", **DIVERGED)
    for x, y, k, n in zip(xs, ys, counts[hit], totals[hit]):
        ax.annotate(
            f"{k}/{n}", (x, y), xycoords=transform, xytext=offset, textcoords="offset points",
            ha="center" if which == "x" else "right", va="bottom" if which == "x" else "center", fontsize=6,
        )  # fmt: skip


def diverged_entry(ax: Any, r: Results) -> None:
    """A legend entry listing diverged lrs, for figures whose axes cannot place them."""
    counts, totals = r.counts("diverged"), r.counts("runs")
    hit = counts > 0
    if hit.any():
        lrs = ", ".join(f"{lr:g} ({k}/{n})" for lr, k, n in zip(r.lrs[hit], counts[hit], totals[hit]))
        ax.plot([], [], label=f"diverged, no data: lr {lrs}", **DIVERGED)


def zero_noise_note(r: Results) -> tuple[str, ...]:
    """A footer note for figures on a log η axis, where η = 0 is among the levels."""
    return ("η = 0 (no noise) not drawn: no place on a log axis",) if (r.noise_levels <= 0).any() else ()


def footer(fig: Figure, r: Results, *notes: str) -> None:
    """Small grey lines under the axes: where the results come from, then ``notes``."""
    s = r.sweep
    lines = [
        f"{r.folder.name}: {s.get('model')} ({s.get('activation')}) on {s.get('dataset')}, "
        f"{len(s.get('lrs', []))} lrs × {len(s.get('seeds', []))} seeds, momentum {s.get('momentum')}, "
        f"{s.get('epochs')} epochs; {s.get('noise_model')} noise, {s.get('samples')} draws per level",
        *notes,
    ]
    width = int(fig.get_figwidth() * FOOTER_CHARS)
    lines = [part for line in lines for part in textwrap.wrap(line, width, subsequent_indent="  ")]
    reserved = FOOTER_LINE * len(lines) / fig.get_figheight()
    fig.get_layout_engine().set(rect=(0, reserved, 1, 1 - reserved))
    fig.text(0.005, 0.005, "\n".join(lines), ha="left", va="bottom", fontsize=6, color="0.35", linespacing=1.25)


def diverged_note(r: Results) -> tuple[str, ...]:
    """A footer note listing the lrs with diverged seeds (which have no data), for figures without a place to mark them."""
    counts, totals = r.counts("diverged"), r.counts("runs")
    hit = [f"lr {lr:g} ({k}/{n} seeds)" for lr, k, n in zip(r.lrs, counts, totals) if k]
    return (f"diverged, no data: {', '.join(hit)}",) if hit else ()
