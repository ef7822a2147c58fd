"""Figure 11: a noise model whose levels are inference times (pcm): accuracy, ΔL and the mean's share.

From the model's block of ``summary.json["analysis"]["noise_models"]`` (``timed``: true): left, noisy
test accuracy against the learning rate per inference time and the clean accuracy (``accuracy``: mean
over seeds ± 95% t-interval); middle, ΔL against the time per learning rate, measured (filled, ± its
SE, seeds pooled draw by draw) and predicted gᵀμ + ½μᵀHμ + ½tr(HΣ(t)) (hollow, dashed; ``by_lr``);
right, the share of the prediction the noise's mean carries, (gᵀμ + ½μᵀHμ)/prediction (median over
seeds). Times are written "1 s", "1 h", "1 d". Drawn only when the results hold a timed model.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from empirical.analysis.levels import time_label
from paper.plots import elements, style
from paper.plots.load import Results, Stats
from paper.plots.tex import escape, fixed


def applies(r: Results) -> bool:
    """Whether the results hold a timed noise model."""
    return bool(r.timed)


def draw(r: Results) -> Figure:
    """Three panels for the first timed model of the results."""
    b = r.timed[0]
    fig = style.figure(3.0)
    acc_ax, loss_ax, share_ax = fig.subplots(1, 3)
    _accuracy(acc_ax, b["accuracy"])
    rows = b["by_lr"]
    lrs, times = np.unique([x["lr"] for x in rows]), np.unique([x["noise_level"] for x in rows])
    for i, lr in enumerate(lrs):
        mine = sorted((x for x in rows if math.isclose(x["lr"], lr)), key=lambda x: x["noise_level"])
        t = style.dodge(np.array([x["noise_level"] for x in mine]), i, len(lrs), spread=0.15)
        look = {**style.series(i, len(lrs)), "linestyle": "-"}
        measured, se, predicted, share = (_values(mine, k) for k in ("measured", "measured_se", "predicted", "mean_share"))
        loss_ax.errorbar(t, measured, yerr=elements.bars(se), label=f"lr = {lr:g}", **look)
        loss_ax.plot(t, predicted, **{**look, "linestyle": "--", "markerfacecolor": "none"})
        share_ax.plot(t, 100 * share, **look)
    style.y_scale(loss_ax, [v for x in rows for v in (x["measured"], x["predicted"]) if v is not None])
    share_ax.axhline(0.0, color="0.5", linewidth=0.6, zorder=1)
    for ax in (loss_ax, share_ax):
        _time_axis(ax, times)
    acc_ax.set_title("noisy accuracy")
    loss_ax.set_title("ΔL: measured, predicted (hollow)")
    share_ax.set_title("the mean's share")
    loss_ax.set_ylabel("ΔL (nats)")
    share_ax.set_ylabel("(gᵀμ + ½μᵀHμ) / predicted ΔL (%)")
    acc_ax.legend(fontsize=6, loc="best")
    loss_ax.legend(fontsize=6, loc="best")
    elements.footer(fig, r, f"{b['noise_model']}: {b['runs']} runs; accuracy: mean over seeds ± 95% t-interval; ΔL: "
                    "seeds pooled draw by draw ± SE; prediction gᵀμ + ½μᵀHμ + ½tr(HΣ(t)); share: median over seeds; "
                    "series shifted sideways a little")  # fmt: skip
    return fig


def _accuracy(ax: Any, rows: list[dict[str, Any]]) -> None:
    """Clean and noisy accuracy against lr, one line per inference time."""
    lrs, times = np.unique([x["lr"] for x in rows]), np.unique([x["noise_level"] for x in rows])
    first = [next(x for x in rows if math.isclose(x["lr"], lr)) for lr in lrs]
    elements.mean_ci(ax, style.dodge(lrs, 0, len(times) + 1), _stats(first, "clean_acc"), label="clean", **style.CLEAN)
    for i, t in enumerate(times):
        mine = sorted((x for x in rows if math.isclose(x["noise_level"], t)), key=lambda x: x["lr"])
        x = style.dodge(np.array([m["lr"] for m in mine]), i + 1, len(times) + 1)
        elements.mean_ci(ax, x, _stats(mine, "noisy_acc_mean"), label=time_label(t), **style.series(i, len(times)))
    style.lr_axis(ax, lrs)
    ax.set_ylabel("test accuracy (fraction)")


def _time_axis(ax: Any, times: np.ndarray) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(times))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(times, [time_label(t) for t in times])
    ax.set_xlabel("inference time")


def _values(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([np.nan if x[key] is None else x[key] for x in rows], float)


def _stats(rows: list[dict[str, Any]], key: str) -> Stats:
    return Stats(*(_values([x[key] for x in rows], k) for k in ("mean", "ci_low", "ci_high")))


def caption(r: Results) -> str:
    """The LaTeX caption: what is drawn, then per time the agreement and the mean's share."""
    b = r.timed[0]
    shares = {}
    for x in b["prediction"]:
        shares.setdefault(x["noise_level"], []).append(x["mean_share"])
    per_time = "; ".join(
        f"{time_label(f['noise_level'])}: median {fixed(f['median_ratio'])}, "
        f"{f['holds']}/{f['fails']}/{f['undetermined']}, mean's share {_pct(shares.get(f['noise_level'], []))}"
        for f in b["prediction_fit"])  # fmt: skip
    return (f"Noise model {escape(b['noise_model'])}, levels are inference times: noisy test accuracy against the "
            "learning rate (left; mean over seeds $\\pm$ 95\\% $t$-interval), measured and predicted $\\Delta L$ "
            "($g^\\top\\mu + \\frac12\\mu^\\top H\\mu + \\frac12\\operatorname{tr}(H\\Sigma(t))$) against the time "
            "(middle), and the share of the prediction the noise's mean carries (right). Measured/predicted per time, "
            "median over runs, $\\pm10\\%$ equivalence holds/fails/undetermined, and the mean's median share: "
            f"{per_time}.")


def _pct(values: list[Any]) -> str:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return "--" if not v else f"{100 * float(np.median(v)):.0f}\\%"
