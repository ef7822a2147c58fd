"""Figure 2: normalized accuracy (noisy / clean) as a learning-rate × noise-level heat map.

Each cell is ``levels[].normalized_acc`` of ``summary.json["per_lr"]``: the mean over seeds,
printed with its 95% t-interval half-width. Columns of lrs with diverged seeds are hatched and
their tick says how many (a column without any finished seed is empty).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from paper.plots import elements, style
from paper.plots.load import Results


def draw(r: Results) -> Figure:
    """The heat map, lrs as columns and η as rows."""
    lrs, levels = r.lrs, r.noise_levels
    cells = [r.level_stats("normalized_acc", eta) for eta in levels]
    mean = np.array([c.mean for c in cells])
    half = np.array([(c.high - c.low) / 2 for c in cells])
    fig = style.figure(max(2.6, 1.4 + 0.38 * len(levels)))
    ax = fig.add_subplot()
    finite = mean[np.isfinite(mean)]
    low, high = (finite.min(), max(1.0, finite.max())) if finite.size else (0.0, 1.0)
    image = ax.imshow(mean, cmap=style.CMAP.with_extremes(bad="white"), vmin=low, vmax=high, aspect="auto", origin="lower")
    counts, totals = r.counts("diverged"), r.counts("runs")
    for (i, j), m in np.ndenumerate(mean):
        if np.isfinite(m):
            text = f"{m:.3f}" + (f"\n±{half[i, j]:.3f}" if np.isfinite(half[i, j]) else "")
            dark = (m - low) / (high - low or 1) < 0.55
            box = {"boxstyle": "round,pad=0.2", "facecolor": "white", "linewidth": 0} if counts[j] else None
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5, zorder=3, bbox=box,
                    color="white" if dark and not box else "black")  # fmt: skip
    for j in np.flatnonzero(counts > 0):  # black and white hatches: visible on dark and light cells
        for colour, hatch in (("white", "//"), ("black", "\\\\")):
            ax.add_patch(Rectangle((j - 0.5, -0.5), 1, len(levels), fill=False, hatch=hatch, edgecolor=colour, lw=0))
    ax.set_xticks(range(len(lrs)), [f"{lr:g}" + (f"\n{k}/{n} div." if k else "") for lr, k, n in zip(lrs, counts, totals)])
    ax.set_yticks(range(len(levels)), [f"{eta:g}" for eta in levels])
    ax.set_xlabel("learning rate (SGD step size)")
    ax.set_ylabel(f"noise level η ({r.sweep.get('noise_model')})")
    ax.grid(False)
    fig.colorbar(image, ax=ax, label="normalized accuracy\n(noisy / clean)", pad=0.01)
    if (counts > 0).any():
        ax.legend(handles=[Patch(fill=False, hatch="xx", edgecolor="black", label="lr with diverged seeds")],
                  loc="lower left", bbox_to_anchor=(0, 1), fontsize=6.5)  # fmt: skip
    elements.footer(fig, r, "cell: mean over seeds ± 95% t-interval half-width")
    return fig
