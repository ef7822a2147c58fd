"""Figure 8: measured / predicted ΔL against η per learning rate, without and with the kink term.

From :meth:`Results.pooled_ratios` (the analysis' ``by_lr``): per (lr, η) the mean over seeds of
measured/predicted with its 95% interval (pooled draw by draw over the noise draws the runs share,
or as independent runs where the results hold no per-draw increases; the footer says which).
Left: the Hessian's prediction ½η² tr(HΣ₁) alone; middle: with the kink term, what the noise adds at
the kinks of piecewise-linear activations; right, when a ``control`` results folder is given (a
smooth network, e.g. ``--activation gelu``, which has no kinks): its second-order ratio, where the
theory must hold. The grey band is agreement within 10%.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from empirical.analysis.equivalence import BAND
from paper.plots import elements, style
from paper.plots.load import Results, Table



def draw(r: Results, control: Results | None = None) -> Figure:
    """Two panels (three with ``control``), one line per learning rate."""
    panels = [(r, "second_order", "second order ½η² tr(HΣ₁)"), (r, "with_kinks", "second order + kink term")]
    if control is not None:
        panels.append((control, "second_order", f"control ({control.sweep.get('activation')}): second order"))
    fig = style.figure(2.9)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False).ravel()
    notes = []
    for ax, (res, name, title) in zip(axes, panels):
        ax.set_xscale("log")
        ratios = res.pooled_ratios()
        if not _lines(ax, ratios, name):
            ax.text(0.5, 0.5, "not in these results", transform=ax.transAxes, ha="center", va="center", color="0.4")
            notes.append(f"{title}: not in {res.folder.name}/summary.json (rerun the sweep, or python -m "
                         "empirical.verify)")  # fmt: skip
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.axhspan(*BAND, color="0.9", linewidth=0, zorder=0)
        levels = res.noise_levels[res.noise_levels > 0]
        ax.set_xticks(levels, [f"{e:g}" for e in levels])
        ax.minorticks_off()
        ax.set_title(title)
        ax.set_xlabel("noise level η")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=6)
    axes[0].set_ylabel("measured / predicted ΔL")
    counts, totals = r.counts("diverged"), r.counts("runs")
    diverged = [f"lr {lr:g}: {k} of {n} seeds diverged" for lr, k, n in zip(r.lrs, counts, totals) if k]
    if control is not None:
        s = control.sweep
        notes.append(f"control: {control.folder.name}, {s.get('model')} ({s.get('activation')}) on {s.get('dataset')}, "
                     f"{len(s.get('lrs', []))} lrs × {len(s.get('seeds', []))} seeds, {s.get('samples')} draws per "
                     f"level; seeds pooled {_pooling(control)}")  # fmt: skip
    elements.footer(fig, r, f"mean over seeds of measured/predicted with its 95% interval, seeds pooled {_pooling(r)}; "
                    "band: within 10%", *notes, *(["; ".join(diverged) + " (the others pooled)"] if diverged else []),
                    *elements.zero_noise_note(r))  # fmt: skip
    return fig


def _lines(ax: Any, ratios: Table, name: str) -> bool:
    """One line per lr of prediction ``name``'s ratio against η; False where it has no finite ratio."""
    ratio = ratios[f"{name}_ratio"]
    keep = np.isfinite(ratio) & (ratios["noise_level"] > 0)
    if not keep.any():
        return False
    lrs = np.unique(ratios["lr"][keep])
    for i, lr in enumerate(lrs):
        at = keep & np.isclose(ratios["lr"], lr)
        eta, y = ratios["noise_level"][at], ratio[at]
        err = np.vstack([y - ratios[f"{name}_ci_low"][at], ratios[f"{name}_ci_high"][at] - y])
        ax.errorbar(style.dodge(eta, i, len(lrs)), y, yerr=elements.bars(err), label=f"lr = {lr:g}",
                    markersize=3.5, elinewidth=0.7, **style.series(i, len(lrs)))  # fmt: skip
    return True


def _pooling(r: Results) -> str:
    """How the results pooled their seeds: 'draw by draw', 'as independent runs', or '—' where no ratio was pooled."""
    return ", ".join(sorted(set(r.pooled_ratios()["pooling"]) - {""})) or "—"
