"""Figures of the paper, each a function from a loaded results folder to a figure.

Nothing here trains or estimates curvature or noise: the figures draw saved numbers, their
saved errors, and at most a descriptive fit through what they draw (figure 4).

    python -m paper.plots RESULTS_DIR [--control SMOOTH_DIR] [--out paper/figures] [--tex paper/generated]

``render`` writes every figure as PDF and PNG; ``paper.plots.latex`` writes the LaTeX fragments
(setup, results table) that ``paper/paper.tex`` inputs. The figures in :data:`WITH_CONTROL` also
draw the results of a smooth control sweep when one is given; those of
:data:`~paper.plots.optional.OPTIONAL` are drawn only when the results hold what they show (several
noise models, per-layer rows, a timed noise model).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from paper.plots import accuracy, agreement, curvature, heatmap, kinks, optional, orders, style, sweet_spot, tradeoff
from paper.plots.load import Results, ResultsError, load

__all__ = ["FIGURES", "Results", "ResultsError", "load", "render"]

FIGURES: dict[str, Callable[..., Figure]] = {
    "fig1_accuracy": accuracy.draw,
    "fig2_normalized_accuracy": heatmap.draw,
    "fig3_curvature": curvature.draw,
    "fig4_delta_loss": agreement.draw,
    "fig5_delta_loss_over_eta2": orders.draw,
    "fig6_tradeoff": tradeoff.draw,
    "fig7_sweet_spot": sweet_spot.draw,
    "fig8_kink_ratio": kinks.draw,
}
WITH_CONTROL = ("fig8_kink_ratio",)  # figures drawn as draw(results, control)


def render(results: Results, out: Path, control: Results | None = None) -> list[Path]:
    """Draw every figure of ``FIGURES`` from ``results`` (and those of :data:`WITH_CONTROL` with the smooth
    ``control`` results, when given), then the optional ones that apply, into ``out`` (``<name>.pdf`` and
    ``.png``); an optional figure that does not apply is removed from ``out``, so none is left stale."""
    paths = []
    with matplotlib.rc_context(style.RC):
        for name, draw in FIGURES.items():
            fig = draw(results, control) if name in WITH_CONTROL else draw(results)
            paths += style.save(fig, out, name)
    return paths + optional.render(results, out)
