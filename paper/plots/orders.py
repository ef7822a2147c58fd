"""Figure 5: ΔL/η² vs η per learning rate: where the second-order theory holds and where it breaks.

Per lr one panel. Second order predicts a flat ΔL/η² = ½ tr(HΣ₁): the dashed line and band are
``levels[].predicted_delta_loss``/η² of ``summary.json["per_lr"]`` (mean, 95% t-interval over
seeds); the fourth-order prediction (dotted, mean over seeds of ``verification["fourth_order"]``
``predicted``/η²) bends away from it. Measured: ``levels[].delta_loss``/η² (mean ± 95% t-interval
over seeds) and single runs ± Monte Carlo SE (:meth:`Results.delta_loss`).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from paper.plots import elements, style
from paper.plots.load import ORDER_KEYS, Results, Stats


def draw(r: Results) -> Figure:
    """A grid of panels, one per learning rate."""
    lrs, levels = r.lrs, r.noise_levels[r.noise_levels > 0]
    rows = math.ceil(len(lrs) / 4)
    cols = math.ceil(len(lrs) / rows)  # balanced rows of at most four panels
    fig = style.figure(0.6 + 1.75 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    single, fourth = r.delta_loss(), r.verification_rows("fourth_order", ORDER_KEYS)
    measured, predicted = _over_eta2(r, "delta_loss", levels), _over_eta2(r, "predicted_delta_loss", levels)
    counts, totals = r.counts("diverged"), r.counts("runs")
    for k, (ax, lr) in enumerate(zip(axes, lrs)):
        ax.plot(levels, predicted.mean[:, k], color="black", linestyle="--", label="2nd order ½ tr(HΣ₁)")
        ax.fill_between(levels, predicted.low[:, k], predicted.high[:, k], color="0.85", linewidth=0)
        if fourth is not None:
            mine = fourth.where(np.isclose(fourth["lr"], lr))
            curve = [_mean(mine["predicted"][np.isclose(mine["noise_level"], eta)]) / eta**2 for eta in levels]
            ax.plot(levels, curve, color="0.35", linestyle=":", linewidth=1.6, label="4th order")
        mine = single.where(np.isclose(single["lr"], lr) & (single["noise_level"] > 0))
        eta = mine["noise_level"]
        elements.runs(ax, eta, mine["measured"] / eta**2, mine["measured_se"] / eta**2, color="0.45", marker="o",
                      label="single runs ± MC SE")  # fmt: skip
        column = Stats(measured.mean[:, k], measured.low[:, k], measured.high[:, k])
        elements.mean_ci(ax, levels, column, label="measured, mean ± 95% CI", **style.series(0, 1))
        ax.set_title(f"lr = {lr:g}" + (f"\n{counts[k]}/{totals[k]} seeds diverged" if counts[k] else ""))
        if counts[k] == totals[k]:
            ax.plot(0.5, 0.5, transform=ax.transAxes, label="diverged", **elements.DIVERGED)
            ax.set_yticks([])
        ax.set_xscale("log")
        ax.set_xlim(levels.min() / 1.5, levels.max() * 1.5)
        ax.set_xticks(levels, [f"{eta:g}" for eta in levels], minor=False)
        ax.minorticks_off()
        if k % cols == 0:
            ax.set_ylabel("ΔL / η² (nats)")
        if k + cols >= len(lrs):  # lowest panel of its column
            ax.set_xlabel("noise level η")
    for ax in axes[len(lrs) :]:
        ax.set_visible(False)
    handles = {label: h for ax in axes for h, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="outside upper center", ncols=len(handles))
    missing = () if fourth is not None else ("fourth-order prediction not in results (summary.json has no verification)",)
    elements.footer(
        fig, r, "band: second-order prediction, 95% t-interval over seeds", *missing, *elements.zero_noise_note(r)
    )  # fmt: skip
    return fig


def _over_eta2(r: Results, metric: str, levels: np.ndarray) -> Stats:
    """Mean and interval over seeds of ``metric`` divided by η², shape (levels, lrs)."""
    cells = [r.level_stats(metric, eta) for eta in levels]
    return Stats(*(np.array([getattr(c, f) for c in cells]) / levels[:, None] ** 2 for f in ("mean", "low", "high")))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else np.nan
