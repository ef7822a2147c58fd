"""Figure 7: predicted vs measured sweet-spot learning rate per noise level.

Per η, from :meth:`Results.sweet_spots` (``verification["sweet_spot"]`` when present, else
``summary.json["sweet_spot"]``): the lr of best mean noisy accuracy, of lowest mean noisy loss,
the predicted argmin of clean loss + ½η² tr(HΣ₁), and where the verification holds it, the argmin
with the kink term added (the best available prediction for ReLU). The bar on the accuracy sweet spot spans
the stable lrs whose 95% t-interval of noisy accuracy (``summary.json["per_lr"]``) overlaps the
best one's: the measured sweet spot is not resolved more finely than that.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from paper.plots import elements, style
from paper.plots.load import Results

SERIES = (
    ("measured_lr_acc", "measured: best noisy accuracy"),
    ("measured_lr_loss", "measured: lowest noisy loss"),
    ("predicted_lr", "predicted: min clean loss + ½η² tr(HΣ₁)"),
    ("predicted_lr_kink", "predicted: min clean loss + ½η² tr(HΣ₁) + kink term"),
)


def draw(r: Results) -> Figure:
    """Sweet-spot lr against η, on the grid of swept lrs."""
    spots, lrs = r.sweet_spots(), r.lrs
    spots = spots.where(spots["noise_level"] > 0)
    eta = spots["noise_level"]
    series = [(k, label) for k, label in SERIES if k in spots.columns and np.isfinite(spots[k]).any()]
    fig = style.figure(3.0, width=5.0)
    ax = fig.add_subplot()
    low, high = _plausible(r, eta, spots["measured_lr_acc"])
    best = spots["measured_lr_acc"]
    ax.errorbar(style.dodge(eta, 0, len(series)), best, yerr=elements.bars(np.vstack([best - low, high - best])),
                linestyle="none", color=style.series(0, len(series))["color"], elinewidth=1.0, capsize=3)  # fmt: skip
    for i, (key, label) in enumerate(series):
        look = style.series(i, len(series))
        ax.plot(style.dodge(eta, i, len(series)), spots[key], label=label, markersize=6, linewidth=0.8, **look)
    elements.diverged(ax, lrs, r.counts("diverged"), r.counts("runs"), which="y")
    style.lr_axis(ax, lrs, which="y")
    ax.set_ylabel("sweet-spot learning rate")
    ax.set_xscale("log")
    ax.set_xticks(eta, [f"{e:g}" for e in eta])
    ax.minorticks_off()
    ax.set_xlabel(f"noise level η ({r.sweep.get('noise_model')})")
    ax.legend(loc="best", fontsize=6.5)
    source = "summary.json verification" if r.has_check("sweet_spot") else "summary.json (no verification in results)"
    elements.footer(
        fig, r, f"from {source}; lrs with a diverged seed are not candidates",
        "bar: stable lrs whose 95% t-interval of noisy accuracy overlaps the best one's", *elements.zero_noise_note(r),
    )  # fmt: skip
    return fig


def _plausible(r: Results, levels: np.ndarray, best: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per η: smallest and largest stable lr whose noisy-accuracy interval overlaps the best lr's."""
    lrs, stable = r.lrs, (r.counts("diverged") == 0) & (r.counts("ok") > 0)
    low, high = np.full(len(levels), np.nan), np.full(len(levels), np.nan)
    for i, (eta, lr) in enumerate(zip(levels, best)):
        acc, at = r.level_stats("noisy_acc_mean", eta), np.isclose(lrs, lr)
        if at.any():
            overlap = stable & (acc.high >= acc.low[at][0])
            chosen = lrs[overlap | at]
            low[i], high[i] = chosen.min(), chosen.max()
    return low, high
