"""Figure 9: ΔL and the accuracy drop against the learning rate, one column per noise model.

From ``summary.json["analysis"]["noise_model_comparison"]``: per model and level the lr means of
ΔL (filled, ± bootstrap SE over seeds and shared draws), of its prediction (hollow, dashed: ½η²
times that model's noise trace, tr(HΣ₁), which for additive noise is tr(H); a timed model's full
prediction) and of the accuracy drop, clean − noisy accuracy (± bootstrap SE over seeds). Each
column's title says whether the reference model's learning-rate conclusion holds, flips or vanishes
under that model, as the analysis' verdict has it. Drawn only when the results hold several models.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from empirical.analysis.levels import TIMED
from empirical.analysis.noise_models import FLIPS, HOLDS, MIXED, UNDETERMINED, VANISHES
from empirical.analysis.trend import FALLS, RISES
from paper.plots import elements, style
from paper.plots.load import Results
from paper.plots.tex import escape

CONCLUSION = {HOLDS: "conclusion holds", FLIPS: "conclusion flips", VANISHES: "conclusion vanishes",
              UNDETERMINED: "conclusion undetermined"}  # fmt: skip
MOVES = {RISES: "rises", FALLS: "falls"}  # else: not resolved, or both ways across levels
PREDICTION = {"additive": "½η² tr(H)"}  # the prediction's name per model; a timed model's is the full one


def applies(r: Results) -> bool:
    """Whether the results hold more than one noise model."""
    return len(r.comparison["models"]) > 1


def prediction(model: str) -> str:
    """How a model's prediction is written in the legend."""
    return "gᵀμ + ½μᵀHμ + ½tr(HΣ(t))" if model in TIMED else PREDICTION.get(model, "½η² tr(HΣ₁)")


def moves(direction: str) -> str:
    """'rises', 'falls', 'moves both ways across levels' or 'has no resolved direction'."""
    return MOVES.get(direction, "moves both ways across levels" if direction == MIXED else "has no resolved direction")


def title(model: dict[str, Any]) -> str:
    """A column's title: the model and, against the reference, its conclusion; then how ΔL moves with lr."""
    head = f"{model['noise_model']} (reference)" if model["reference"] else \
        f"{model['noise_model']}: {CONCLUSION[model['conclusion']]}"  # fmt: skip
    short = {RISES: "rises", FALLS: "falls", MIXED: "both ways"}
    return (f"{head}\nΔL {short.get(model['direction'], 'unresolved')}, "
            f"prediction {short.get(model['predicted_direction'], 'unresolved')}")


def draw(r: Results) -> Figure:
    """Two rows (ΔL with its prediction; the accuracy drop) by one column per noise model (the reference
    first), lr shared; each column's levels in a legend under it."""
    models = sorted(r.comparison["models"], key=lambda m: not m["reference"])
    fig = style.figure(5.0)
    axes = fig.subplots(2, len(models), sharex=True, squeeze=False)
    lrs = np.unique([e["lr"] for m in models for lv in m["levels"] for e in lv["delta_loss"]["per_lr"]])
    for (top, bottom), m in zip(axes.T, models):
        n = len(m["levels"])
        for i, lv in enumerate(m["levels"]):
            look = {**style.series(i, n), "linestyle": "-"}
            _line(top, lv["delta_loss"], i, n, label=lv["label"], **look)
            _line(top, lv["predicted"], i, n, errors=False, **{**look, "linestyle": "--", "markerfacecolor": "none"})
            _line(bottom, lv["acc_drop"], i, n, **look)
        style.y_scale(top, [e["mean"] for lv in m["levels"] for k in ("delta_loss", "predicted")
                            for e in lv[k]["per_lr"]])  # fmt: skip
        style.y_scale(bottom, [e["mean"] for lv in m["levels"] for e in lv["acc_drop"]["per_lr"]])
        top.set_title(title(m))
        style.lr_axis(bottom, lrs)
        bottom.legend(handles=[*top.get_legend_handles_labels()[0],
                               Line2D([], [], color="0.3", linestyle="--", marker="o", markerfacecolor="none",
                                      label=prediction(m["noise_model"]))],
                      fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)  # fmt: skip
    axes[0, 0].set_ylabel("ΔL (nats)")
    axes[1, 0].set_ylabel("accuracy drop (clean − noisy)")
    elements.footer(fig, r, "filled: measured ΔL (± bootstrap SE of the lr mean over seeds and shared draws), hollow "
                    "dashed: its prediction; accuracy drop ± bootstrap SE over seeds; series shifted sideways a "
                    "little; conclusion: the direction of ΔL with lr (Spearman ρ's 95% interval) against the "
                    "reference's", *elements.diverged_note(r))  # fmt: skip
    return fig


def _line(ax: Any, trend: dict[str, Any], i: int, n: int, errors: bool = True, **look: Any) -> None:
    """The lr means of one level's trend, with their bootstrap SEs as bars (``errors``)."""
    x = np.array([e["lr"] for e in trend["per_lr"]], float)
    y, se = (np.array([np.nan if e[k] is None else e[k] for e in trend["per_lr"]], float) for k in ("mean", "se"))
    ax.errorbar(style.dodge(x, i, n), y, yerr=elements.bars(se) if errors else None, **look)


def caption(r: Results) -> str:
    """The LaTeX caption: what is drawn, then per model the verdict's conclusion."""
    models = r.comparison["models"]
    ref = next(m for m in models if m["reference"])
    others = "; ".join(f"under {escape(m['noise_model'])} the conclusion {m['conclusion']} ($\\Delta L$ "
                       f"{moves(m['direction'])}, the prediction {moves(m['predicted_direction'])}, the accuracy drop "
                       f"{moves(m['acc_drop_direction'])})" for m in models if not m["reference"])  # fmt: skip
    return (f"$\\Delta L$ (top, filled; its prediction hollow and dashed) and the accuracy drop (bottom) against the "
            f"learning rate, one column per noise model and one line per level; bars $\\pm$ bootstrap standard error "
            f"of the mean over seeds. Under {escape(ref['noise_model'])} (the reference) $\\Delta L$ "
            f"{moves(ref['direction'])} with the learning rate; {others}. A direction is resolved where the 95\\% "
            f"bootstrap interval of Spearman's $\\rho$ excludes 0.")
