"""Figure 3: Hessian trace and top eigenvalue vs learning rate, with the stability bound.

Left: ``hessian_trace_train`` (train subset) and ``hessian_trace_test`` (test split); right:
``lambda_max_train`` and the heavy-ball bound ``stability_bound`` = 2(1+β)/lr, the region above
it shaded. Lines: per-lr mean ± 95% t-interval over seeds (``summary.json``); hollow markers:
single runs from ``runs.csv`` ± their estimator SE (``*_se``; for λ_max the eigen-residual
``lambda_max_residual`` = ‖Hv − λv‖, a bound on the distance to an eigenvalue).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from paper.plots import elements, style
from paper.plots.load import Results


def draw(r: Results) -> Figure:
    """Two panels sharing the learning-rate axis."""
    fig = style.figure(3.0)
    trace_ax, top_ax = fig.subplots(1, 2, sharex=True)
    lrs, runs = r.lrs, r.runs
    curves = (
        (trace_ax, "hessian_trace_train", "hessian_trace_train_se", "tr(H), train subset"),
        (trace_ax, "hessian_trace_test", "hessian_trace_test_se", "tr(H), test split"),
        (top_ax, "lambda_max_train", "lambda_max_residual", "λ_max(H), train subset"),
    )
    for i, (ax, metric, error, label) in enumerate(curves):
        look = style.series(i, len(curves))
        x = style.dodge(lrs, i, 2) if ax is trace_ax else lrs  # train and test side by side
        elements.mean_ci(ax, x, r.lr_stats(metric), label=label, **look)
        at = x[np.searchsorted(lrs, runs["lr"])]  # each run at its lr's (dodged) position
        elements.runs(ax, at, runs[metric], runs[error], color=look["color"], marker=look["marker"])
    bound = r.per_lr_run_value("stability_bound")
    top_ax.plot(lrs, bound, color="black", linestyle="--", label="stability bound 2(1+β)/lr")
    top_ax.fill_between(lrs, bound, np.nanmax(bound) * 10, facecolor="0.92", edgecolor="0.6", hatch="//",
                        linewidth=0.5, zorder=0, label="unstable: λ_max above the bound")  # fmt: skip
    for ax in (trace_ax, top_ax):
        elements.diverged(ax, lrs, r.counts("diverged"), r.counts("runs"))
        style.lr_axis(ax, lrs)
        plotted = np.concatenate([np.r_[r.lr_stats(m).mean, runs[m]] for a, m, *_ in curves if a is ax])
        ax.set_yscale("log" if np.nanmin(plotted, initial=np.inf) > 0 else "linear")  # nothing ≤ 0 hidden
        style.plain_numbers(ax.yaxis)
        ax.legend(loc="best")
    top_ax.set_ylim(top=np.nanmax(np.r_[bound, r.lr_stats("lambda_max_train").high, runs["lambda_max_train"]]) * 3)
    trace_ax.set_ylabel("Hessian trace tr(H) (nats per weight²)")
    top_ax.set_ylabel("top eigenvalue λ_max (nats per weight²)")
    elements.footer(
        fig, r, f"β = {r.sweep.get('momentum')}; lines: mean ± 95% t-interval over seeds; "
        "hollow: single runs ± estimator SE (λ_max: ± eigen-residual); loss = mean cross-entropy"
    )  # fmt: skip
    return fig

