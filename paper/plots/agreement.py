"""Figure 4: measured ΔL/(½η²) against tr(HΣ₁), one marker per η: the theory's line is y = x.

Dividing by ½η² removes the factor that measured and predicted ΔL share (η² spans orders of
magnitude across levels), so what is left is the comparison the theory makes: per run and level,
the measured ΔL/(½η²) ± its Monte Carlo SE against tr(HΣ₁) ± its SE (the analysis' ``second_order``
rows, ``predicted``/(½η²)). The legend gives the analysis' regression of ΔL/(½η²) at small η on
tr(HΣ₁) (``slope``; with the kink term too), slope and intercept with their 95% bootstrap intervals;
the theory says 1 and 0. A value ≤ 0 has no place on a log axis: its point sits on that axis's lower
edge, hollow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from paper.plots import elements, style
from paper.plots.load import Results


def draw(r: Results) -> Figure:
    """The agreement plot."""
    d = r.delta_loss()
    half = 0.5 * d["noise_level"] ** 2
    measured, predicted = d["measured"] / half, d["predicted"] / half
    measured_se, predicted_se = d["measured_se"] / half, d["predicted_se"] / half
    fig = style.figure(3.4, width=5.0)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_yscale("log")
    levels = r.noise_levels[r.noise_levels > 0]
    positive = (measured > 0) & (predicted > 0)
    for i, eta in enumerate(levels):
        on = positive & np.isclose(d["noise_level"], eta)
        ax.errorbar(
            predicted[on], measured[on], xerr=elements.bars(predicted_se[on]), yerr=elements.bars(measured_se[on]),
            linestyle="none", elinewidth=0.6, label=style.eta(eta),
            **{k: v for k, v in style.series(i, len(levels)).items() if k != "linestyle"},
        )  # fmt: skip
    if positive.any():
        lims = np.array([min(measured[positive].min(), predicted[positive].min()) / 1.5,
                         max(measured[positive].max(), predicted[positive].max()) * 1.5])  # fmt: skip
        ax.plot(lims, lims, color="black", linewidth=0.8, label="theory: y = x")
    for name, label in (("second_order", "tr(HΣ₁)"), ("with_kinks", "tr(HΣ₁) + kink/(½η²)")):
        fit = {k: np.nan if v is None else v for k, v in r.analysis["slope"][name].items()}  # JSON null: NaN
        if np.isfinite(fit["slope"]):
            ax.plot([], [], " ", label=f"fit on {label}, η ≤ {r.analysis['slope']['max_noise_level']:g}: slope "
                    f"{fit['slope']:.2f} [{fit['slope_ci_low']:.2f}, {fit['slope_ci_high']:.2f}], intercept "
                    f"{fit['intercept']:.2g} [{fit['intercept_ci_low']:.2g}, {fit['intercept_ci_high']:.2g}]")  # fmt: skip
    _on_edges(ax, d["noise_level"], predicted, measured, levels)
    elements.diverged_entry(ax, r)
    ax.set_xlabel("tr(HΣ₁) = predicted ΔL / (½η²) (nats per unit η²)")
    ax.set_ylabel("measured ΔL / (½η²) (nats per unit η²)")
    ax.legend(loc="upper left", fontsize=6)
    elements.footer(fig, r, "one point per (run, η) from summary.json analysis; bars: ±1 Monte Carlo / estimator SE;"
                    " fits: 95% bootstrap intervals")  # fmt: skip
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
