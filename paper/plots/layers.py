"""Figure 10: per-layer sensitivity against the learning rate, one panel per noise level of ``layer_levels``.

From ``summary.json["analysis"]["layers"]``: per (lr, η, layer) the seed means of ΔL_l with noise on
layer l alone, measured (filled, ± √Σse²/n of the runs' Monte Carlo SEs) and predicted (hollow,
dashed: ½η² tr(H_ll Σ₁,ll) plus the layer's kink term). Each panel's title gives the rank agreement
of predicted and measured sensitivity over the layers (Kendall τ_b, mean over runs with its 95%
bootstrap interval) and the additivity Σ_l ΔL_l / ΔL_all. Drawn only when the results have layers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from paper.plots import elements, style
from paper.plots.load import Results
from paper.plots.tex import escape, fixed


def applies(r: Results) -> bool:
    """Whether the results hold per-layer rows."""
    return bool(r.layers and r.layers["per_lr"])


def panels(r: Results) -> dict[tuple[str, float], list[dict[str, Any]]]:
    """The ``per_lr`` entries by (noise model, η), in that order."""
    out: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
    for e in r.layers["per_lr"]:
        out[(e["noise_model"], e["noise_level"])].append(e)
    return dict(sorted(out.items()))


def level(r: Results, model: str, eta: float) -> dict[str, Any]:
    """The ``per_level`` summary of (noise model, η)."""
    return next(lv for lv in r.layers["per_level"] if lv["noise_model"] == model and math.isclose(lv["noise_level"], eta))


def draw(r: Results) -> Figure:
    """One panel per (noise model, η), one measured and one predicted line per layer against lr."""
    groups = panels(r)
    fig = style.figure(3.6)
    axes = fig.subplots(1, len(groups), squeeze=False).ravel()
    for ax, ((model, eta), entries) in zip(axes, groups.items()):
        names = list(dict.fromkeys(e["layer"] for e in entries))
        lrs = np.unique([e["lr"] for e in entries])
        for i, name in enumerate(names):
            mine = sorted((e for e in entries if e["layer"] == name), key=lambda e: e["lr"])
            x = style.dodge(np.array([e["lr"] for e in mine]), i, len(names), spread=0.12)
            look = {**style.series(i, len(names)), "linestyle": "-"}
            y, se = (np.array([np.nan if e[k] is None else e[k] for e in mine], float) for k in ("measured", "measured_se"))
            ax.errorbar(x, y, yerr=elements.bars(se), label=name, **look)
            ax.plot(x, [e["predicted"] for e in mine], **{**look, "linestyle": "--", "markerfacecolor": "none"})
        style.y_scale(ax, [e[k] for e in entries for k in ("measured", "predicted") if e[k] is not None])
        style.lr_axis(ax, lrs)
        ax.set_title(f"{model}, η = {eta:g}\n{_agreement(level(r, model, eta))}")
    axes[0].set_ylabel("ΔL with noise on one layer (nats)")
    handles = [*axes[0].get_legend_handles_labels()[0],
               Line2D([], [], color="0.3", linestyle="--", marker="o", markerfacecolor="none",
                      label="predicted\n½η² tr(H_ll Σ₁,ll)\n+ kink term")]  # fmt: skip
    fig.legend(handles=handles, loc="outside right upper", title="layer")
    elements.footer(fig, r, f"{r.layers['runs']} runs with layers.csv rows; filled: measured ΔL_l, mean over seeds ± "
                    "√Σse²/n of the runs' Monte Carlo SEs; hollow dashed: predicted; series shifted sideways a little; "
                    "τ: Kendall τ_b of predicted and measured over the layers, mean over runs [95% bootstrap]")  # fmt: skip
    return fig


def _agreement(lv: dict[str, Any]) -> str:
    """'τ = 0.67 [0.33, 1.00]' and 'Σ_l ΔL_l / ΔL_all = 0.98' on two lines, for a panel title."""
    tau = "τ: fewer than 3 layers" if not lv["kendall_runs"] else \
        f"τ = {fixed(lv['kendall_tau'])} [{fixed(lv['kendall_tau_ci_low'])}, {fixed(lv['kendall_tau_ci_high'])}]"  # fmt: skip
    return f"{tau}\nΣ_l ΔL_l / ΔL_all = {fixed(lv['additivity_median_ratio'])} (median)"


def caption(r: Results) -> str:
    """The LaTeX caption: what is drawn, then per panel the rank agreement and the dominant layer."""
    parts = []
    for model, eta in panels(r):
        lv = level(r, model, eta)
        shares = [e for e in lv["layers"] if e["measured_share"] is not None and math.isfinite(e["measured_share"])]
        top = max(shares, key=lambda e: e["measured_share"], default=None)
        dominant = ("no layer's measured share is resolved" if top is None else
                    f"{escape(top['layer'])} carries {100 * top['measured_share']:.0f}\\% of the measured sum")  # fmt: skip
        tau = ("fewer than 3 layers to rank" if not lv["kendall_runs"] else
               f"Kendall $\\tau = {fixed(lv['kendall_tau'])}$ [{fixed(lv['kendall_tau_ci_low'])}, "
               f"{fixed(lv['kendall_tau_ci_high'])}] over {lv['kendall_runs']} runs")  # fmt: skip
        parts.append(f"{escape(model)}, $\\eta = {eta:g}$: {tau}, $\\sum_l \\Delta L_l/\\Delta L_{{\\rm all}}$ median "
                     f"{fixed(lv['additivity_median_ratio'])}, {dominant}")  # fmt: skip
    return ("$\\Delta L_l$ with noise on layer $l$ alone against the learning rate, measured (filled, mean over seeds "
            "$\\pm$ its Monte Carlo standard error) and predicted ($\\frac12\\eta^2\\operatorname{tr}(H_{ll}\\Sigma_{1,ll})$ "
            "plus the layer's kink term; hollow, dashed). " + "; ".join(parts) + ".")
