"""Figure 1: clean and noisy test accuracy vs learning rate, the measured sweet spot starred.

Draws, per lr, ``test_acc`` (clean) and, per noise level η, ``levels[].noisy_acc_mean`` from
``summary.json["per_lr"]`` (mean ± 95% t-interval over seeds), and stars the lr of best mean
noisy accuracy (``measured_lr_acc`` of the sweet-spot rows) on each η's curve.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from paper.plots import elements, style
from paper.plots.load import Results


def draw(r: Results) -> Figure:
    """The headline plot."""
    fig = style.figure(3.2)
    ax = fig.add_subplot()
    lrs, levels, spots = r.lrs, r.noise_levels, r.sweet_spots()
    n = len(levels) + 1  # series, for the horizontal dodge
    elements.mean_ci(ax, style.dodge(lrs, 0, n), r.lr_stats("test_acc"), label="clean", **style.CLEAN)
    star_label = "measured sweet spot"
    for i, eta in enumerate(levels):
        acc, look, x = r.level_stats("noisy_acc_mean", eta), style.series(i, len(levels)), style.dodge(lrs, i + 1, n)
        elements.mean_ci(ax, x, acc, label=style.eta(eta), **look)
        best = spots["measured_lr_acc"][np.isclose(spots["noise_level"], eta)]
        at = np.isclose(lrs, best[0]) if best.size else np.zeros_like(lrs, dtype=bool)
        if at.any():
            ax.plot(
                x[at], acc.mean[at], marker="*", markersize=12, markerfacecolor="white",
                markeredgecolor=look["color"], markeredgewidth=1.2, linestyle="none", zorder=5, label=star_label,
            )  # fmt: skip
            star_label = "_nolegend_"
    elements.diverged(ax, lrs, r.counts("diverged"), r.counts("runs"))
    style.lr_axis(ax, lrs)
    ax.set_ylabel("test accuracy (fraction)")
    fig.legend(loc="outside right upper", title=f"noise level η\n({r.sweep.get('noise_model')})")
    elements.footer(
        fig, r, "bars: 95% t-interval over seeds; series shifted sideways a little to keep bars apart; "
        "☆: lr of best mean noisy accuracy at that η"
    )  # fmt: skip
    return fig
