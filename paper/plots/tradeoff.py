"""Figure 6: the trade-off between clean accuracy and robustness, one point per learning rate.

x: clean ``test_acc``; y: relative accuracy drop 1 − ``normalized_acc`` = 1 − noisy/clean at
each η > 0; both from ``summary.json["per_lr"]`` as mean ± 95% t-interval over seeds. Points of
one η are joined in lr order; the lrs are written beside the points of the largest η.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from paper.plots import elements, style
from paper.plots.load import Results, Stats


def draw(r: Results) -> Figure:
    """Clean accuracy against relative accuracy drop."""
    fig = style.figure(3.4, width=5.0)
    ax = fig.add_subplot()
    clean, levels = r.lr_stats("test_acc"), r.noise_levels[r.noise_levels > 0]
    for i, eta in enumerate(levels):
        kept = r.level_stats("normalized_acc", eta)
        drop = Stats(1 - kept.mean, 1 - kept.high, 1 - kept.low)
        ax.errorbar(
            clean.mean, drop.mean, xerr=elements.ci_err(clean), yerr=elements.ci_err(drop),
            label=style.eta(eta), linewidth=0.7, elinewidth=0.6, **style.series(i, len(levels)),
        )  # fmt: skip
    if levels.size:  # label the points of the largest η, where the lrs are furthest apart
        for lr, x, y in zip(r.lrs, clean.mean, drop.mean):
            if np.isfinite(x) and np.isfinite(y):
                ax.annotate(f"lr {lr:g}", (x, y), xytext=(4, 3), textcoords="offset points", fontsize=6)
    (left, right), (bottom, top) = ax.get_xlim(), ax.get_ylim()
    ax.set_xlim(max(left, -0.02), min(right, 1.02))  # a few-seed t-interval can reach past what is possible
    ax.set_ylim(max(bottom, -0.25), min(top, 1.02))
    elements.diverged_entry(ax, r)
    ax.set_xlabel("clean test accuracy (fraction)")
    ax.set_ylabel("relative accuracy drop 1 − noisy/clean")
    ax.legend(loc="best", title=f"noise level η ({r.sweep.get('noise_model')})", fontsize=6.5)
    elements.footer(
        fig, r, "bars: 95% t-interval over seeds (both axes; cut at the possible range); better: right and down",
        *(("no noise (η = 0): no drop to draw",) if (r.noise_levels <= 0).any() else ()),
    )  # fmt: skip
    return fig
