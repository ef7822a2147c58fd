"""Figure 4: measured vs predicted second-order loss increase ΔL (log–log), one marker per η.

One point per (run, η) from :meth:`Results.delta_loss` (``verification["second_order"]`` when
present, else ``noise.csv``): measured ΔL ± Monte Carlo SE against predicted ½η² tr(HΣ₁) ± SE,
with the line y = x and a least-squares fit of log ΔL_measured on log ΔL_predicted (slope, R²).
A value ≤ 0 has no place on a log axis: its point sits on that axis's lower edge, hollow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from scipy import stats

from paper.plots import elements, style
from paper.plots.load import Results


def draw(r: Results) -> Figure:
    """The agreement plot."""
    d = r.delta_loss()
    fig = style.figure(3.4, width=5.0)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    measured, predicted, levels = d["measured"], d["predicted"], r.noise_levels
    positive = (measured > 0) & (predicted > 0)
    for i, eta in enumerate(levels):
        on = positive & np.isclose(d["noise_level"], eta)
        ax.errorbar(
            predicted[on], measured[on], xerr=elements.bars(d["predicted_se"][on]),
            yerr=elements.bars(d["measured_se"][on]), linestyle="none", elinewidth=0.6, label=style.eta(eta),
            **{k: v for k, v in style.series(i, len(levels)).items() if k != "linestyle"},
        )  # fmt: skip
    if positive.any():
        lims = np.array([min(measured[positive].min(), predicted[positive].min()) / 2,
                         max(measured[positive].max(), predicted[positive].max()) * 2])  # fmt: skip
        ax.plot(lims, lims, color="black", linewidth=0.8, label="y = x")
    if positive.sum() > 2:
        fit = stats.linregress(np.log10(predicted[positive]), np.log10(measured[positive]))
        x = np.geomspace(predicted[positive].min(), predicted[positive].max(), 50)
        ax.plot(x, 10**fit.intercept * x**fit.slope, color="0.45", linestyle="--",
                label=f"log–log fit: slope {fit.slope:.3f} ± {fit.stderr:.3f}, R² = {fit.rvalue**2:.3f}")  # fmt: skip
    _on_edges(ax, d["noise_level"], predicted, measured, levels)
    elements.diverged_entry(ax, r)
    ax.set_xlabel("predicted ΔL = ½ η² tr(HΣ₁) (nats)")
    ax.set_ylabel("measured ΔL = E[L(w+ε)] − L(w) (nats)")
    ax.legend(loc="upper left", fontsize=6.5)
    source = "summary.json verification" if r.has_check("second_order") else "noise.csv (no verification in results)"
    elements.footer(fig, r, f"one point per (run, η) from {source}; bars: ±1 Monte Carlo / estimator SE")
    return fig


def _on_edges(ax: Any, noise_level: np.ndarray, x: np.ndarray, y: np.ndarray, levels: np.ndarray) -> None:
    """Points with a coordinate ≤ 0 as hollow triangles on the lower (▼) or left (◀) edge."""
    (x_low, x_high), (y_low, y_high) = ax.get_xlim(), ax.get_ylim()
    edges = (("v", y <= 0, "measured ΔL ≤ 0 (bottom edge)"), ("<", x <= 0, "predicted ΔL ≤ 0 (left edge)"))
    for marker, off, label in edges:
        for i, eta in enumerate(levels):
            at = off & np.isclose(noise_level, eta)
            if at.any():  # an empty unclipped line would still claim layout space at the origin
                ax.plot(np.where(x > 0, x, x_low)[at], np.where(y > 0, y, y_low)[at], marker=marker, markerfacecolor="none",
                        color=style.series(i, len(levels))["color"], linestyle="none", clip_on=False)  # fmt: skip
        if off.any():
            ax.plot([], [], marker=marker, markerfacecolor="none", color="0.3", linestyle="none", label=label)
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
