"""Figure 7: the sweet-spot learning rate per noise level: measured, the curvature's pick, the null's.

Per η, from :meth:`Results.sweet_spots` (the analysis' ``sweet_spot``): the lr of lowest mean noisy
loss (the measured optimum) and of best mean noisy accuracy; the curvature's pick, argmin of clean
loss + ½η² tr(HΣ₁) (and with the kink term); and the null's, argmin of the clean loss alone. Under
each η the paired comparison of the curvature's pick with the null's (noisy loss over the same
seeds and noise draws, ``curvature_vs_null``): "better", "worse", "same lr" or "not resolved". No
interval overlap is read as a difference.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from paper.plots import elements, style
from paper.plots.load import Results

SERIES = (
    ("measured_lr_loss", "measured: lowest noisy loss"),
    ("measured_lr_acc", "measured: best noisy accuracy"),
    ("predicted_lr", "curvature: min clean loss + ½η² tr(HΣ₁)"),
    ("predicted_lr_kink", "curvature + kink term"),
    ("null_lr", "null: min clean loss"),
)


def draw(r: Results) -> Figure:
    """Sweet-spot lr against η, on the grid of swept lrs."""
    spots, lrs = r.sweet_spots(), r.lrs
    spots = spots.where(spots["noise_level"] > 0)
    eta = spots["noise_level"]
    series = [(k, label) for k, label in SERIES if k in spots.columns and np.isfinite(spots[k]).any()]
    fig = style.figure(3.0, width=5.0)
    ax = fig.add_subplot()
    for i, (key, label) in enumerate(series):
        look = style.series(i, len(series))
        ax.plot(style.dodge(eta, i, len(series)), spots[key], label=label, markersize=6, linewidth=0.8, **look)
    elements.diverged(ax, lrs, r.counts("diverged"), r.counts("runs"), which="y")
    style.lr_axis(ax, lrs, which="y")
    ax.set_ylabel("sweet-spot learning rate")
    ax.set_xscale("log")
    outcomes = {row["noise_level"]: (row.get("curvature_vs_null") or {}).get("outcome", "—")
                for row in r.analysis["sweet_spot"]}  # fmt: skip
    ax.set_xticks(eta, [f"{e:g}\n{outcomes.get(e, '—')}" for e in eta], fontsize=6)
    ax.minorticks_off()
    ax.set_xlabel(f"noise level η ({r.sweep.get('noise_model')}); curvature vs null, paired")
    ax.legend(loc="best", fontsize=6.5)
    elements.footer(
        fig, r, "from summary.json analysis; lrs with a diverged seed are not candidates",
        "under each η: the curvature's pick against the null's, paired noisy-loss difference (same seeds, same draws)",
        *elements.zero_noise_note(r),
    )  # fmt: skip
    return fig
