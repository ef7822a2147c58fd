"""Figure 5: ΔL/η² vs η per learning rate: where the second-order theory holds and where it breaks.

One panel per learning rate with a finished seed (every-seed-diverged lrs get a footer note, not an
empty panel). Second order predicts a flat ΔL/η² = ½ tr(HΣ₁): the dashed line and band are
``levels[].predicted_delta_loss``/η² of ``summary.json["per_lr"]`` (mean, 95% t-interval over
seeds); the fourth-order prediction (dotted, mean over the lr's seeds of the analysis'
``fourth_order`` ``predicted``/η²) is drawn only from runs where it is resolved
(``fourth_resolved``), and a panel without one says "4th order not resolved". Measured:
``levels[].delta_loss``/η² (mean ± 95% t-interval over seeds) and single runs ± Monte Carlo SE
(:meth:`Results.delta_loss`). The y-axis is scaled to the measurement and the second-order
prediction; the fourth-order curve is clipped to it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from paper.plots import elements, style
from paper.plots.load import ORDER_KEYS, Results, Stats


def draw(r: Results) -> Figure:
    """A grid of panels, one per learning rate."""
    all_lrs, levels = r.lrs, r.noise_levels[r.noise_levels > 0]
    counts, totals = r.counts("diverged"), r.counts("runs")
    shown = counts < totals
    lrs = all_lrs[shown]
    rows = math.ceil(len(lrs) / 4)
    cols = math.ceil(len(lrs) / rows)  # balanced rows of at most four panels
    fig = style.figure(0.6 + 1.75 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    single, fourth = r.delta_loss(), r.rows("fourth_order", (*ORDER_KEYS, "fourth_resolved"))
    measured, predicted = _over_eta2(r, "delta_loss", levels), _over_eta2(r, "predicted_delta_loss", levels)
    measured, predicted = (Stats(s.mean[:, shown], s.low[:, shown], s.high[:, shown]) for s in (measured, predicted))
    counts, totals = counts[shown], totals[shown]
    for k, (ax, lr) in enumerate(zip(axes, lrs)):
        ax.plot(levels, predicted.mean[:, k], color="black", linestyle="--", label="2nd order ½ tr(HΣ₁)")
        ax.fill_between(levels, predicted.low[:, k], predicted.high[:, k], color="0.85", linewidth=0)
        mine = fourth.where(np.isclose(fourth["lr"], lr) & (fourth["fourth_resolved"] == 1))
        if len(mine):
            curve = [_mean(mine["predicted"][np.isclose(mine["noise_level"], eta)]) / eta**2 for eta in levels]
            ax.plot(levels, curve, color="0.35", linestyle=":", linewidth=1.6, label="4th order (resolved runs)")
        elif len(fourth):
            ax.text(0.03, 0.04, "4th order not resolved", transform=ax.transAxes, fontsize=6, color="0.35")
        mine = single.where(np.isclose(single["lr"], lr) & (single["noise_level"] > 0))
        eta = mine["noise_level"]
        y, y_se = mine["measured"] / eta**2, mine["measured_se"] / eta**2
        elements.runs(ax, eta, y, y_se, color="0.45", marker="o", label="single runs ± MC SE")
        column = Stats(measured.mean[:, k], measured.low[:, k], measured.high[:, k])
        elements.mean_ci(ax, levels, column, label="measured, mean ± 95% CI", **style.series(0, 1))
        ax.set_title(f"lr = {lr:g}" + (f"\n{counts[k]}/{totals[k]} seeds diverged" if counts[k] else ""))
        _scale_to(ax, np.concatenate([y - y_se, y + y_se, column.low, column.high, predicted.mean[:, k]]))
        ax.set_xscale("log")
        ax.set_xlim(levels.min() / 1.5, levels.max() * 1.5)
        ax.set_xticks(levels, [f"{eta:g}" for eta in levels], minor=False, rotation=60, fontsize=6)
        ax.minorticks_off()
        if k % cols == 0:
            ax.set_ylabel("ΔL / η² (nats)")
        if k + cols >= len(lrs):  # lowest panel of its column
            ax.set_xlabel("noise level η")
    for ax in axes[len(lrs) :]:
        ax.set_visible(False)
    handles = {label: h for ax in axes for h, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="outside upper center", ncols=len(handles))
    missing = () if len(fourth) else ("fourth-order prediction not in results (no fourth_moment_test)",)
    gone = [f"{lr:g}" for lr in all_lrs[~shown]]
    diverged = (f"every seed diverged at lr {', '.join(gone)}: no panel",) if gone else ()
    elements.footer(
        fig, r, "band: second-order prediction, 95% t-interval over seeds; 4th order clipped to the measured range", *missing,
        *diverged, *elements.zero_noise_note(r),
    )  # fmt: skip
    return fig


def _over_eta2(r: Results, metric: str, levels: np.ndarray) -> Stats:
    """Mean and interval over seeds of ``metric`` divided by η², shape (levels, lrs)."""
    cells = [r.level_stats(metric, eta) for eta in levels]
    return Stats(*(np.array([getattr(c, f) for c in cells]) / levels[:, None] ** 2 for f in ("mean", "low", "high")))


def _scale_to(ax: Any, values: np.ndarray) -> None:
    """y-limits around the finite ``values`` (the measurement), with a margin; predictions beyond are clipped."""
    v = values[np.isfinite(values)]
    if v.size:
        low, high = float(v.min()), float(v.max())
        pad = 0.15 * (high - low) if high > low else 0.1 * abs(high) or 1.0
        ax.set_ylim(low - pad, high + pad)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else np.nan
