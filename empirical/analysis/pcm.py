"""A noise model whose levels are inference times (``pcm``): measured against predicted ΔL per time,
the share of the prediction its mean carries, noisy accuracy against lr and time, and the sweet spot.

The prediction is the row's gᵀμ + ½μᵀHμ + ½tr(HΣ(t)) (cells from
:mod:`~empirical.analysis.predictions`, key ``p2``); its mean term gᵀμ + ½μᵀHμ is ``mean_term``.
Ratios use the same machinery as the Gaussian models (per run Fieller, per lr pooled draw by draw,
±10% equivalence); nothing here scales with η: no ½η² normalisation, η² slope, fourth order, kink
term or spread. Times are labelled by :func:`~empirical.analysis.levels.time_label` ("1 s", "1 h", "1 d", "30 d", "1 y").
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from empirical.analysis import identification, orders, sweet_spot
from empirical.analysis.pooling import pooled
from empirical.analysis.levels import time_label
from empirical.analysis.stats import mean_ci, median
from empirical.analysis.tables import fixed, percent

def block(name: str, run_rows: list[dict[str, Any]], cells: list[dict[str, Any]], reps: int,
          rng: np.random.Generator) -> dict[str, Any]:  # fmt: skip
    """A timed model's block of ``analysis["noise_models"]`` (``timed``: True), with its verdict."""
    rows = orders.order_rows(cells, "second_order")
    for r, c in zip(rows, [c for c in cells if math.isfinite(c["p2"])]):
        r.update(time=time_label(r["noise_level"]), mean_term=c["mean_term"],
                 mean_share=c["mean_term"] / c["p2"] if c["p2"] else math.nan)  # fmt: skip
    v: dict[str, Any] = {
        "noise_model": name, "timed": True, "runs": len({c["run_id"] for c in cells}),
        "prediction": rows, "prediction_fit": orders.level_fits(rows),
        "by_lr": _by_lr(cells), "accuracy": _accuracy(cells),
        "identification": identification.explanatory(cells, reps, rng),
        "sweet_spot": sweet_spot.sweet_spots(run_rows, cells),
    }  # fmt: skip
    v["verdict"] = verdict_lines(v)
    return v


def _by_lr(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (lr, time): seeds pooled draw by draw, measured ΔL, the prediction and the ratio; the mean share."""
    groups: dict[tuple[float, float], list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        groups[(c["lr"], c["noise_level"])].append(c)
    out = []
    for (lr, t), cs in sorted(groups.items()):
        entry = pooled(cs, "p2")
        share = median(c["mean_term"] / c["p2"] for c in cs if c["p2"])
        out.append({"lr": lr, "noise_level": t, "time": time_label(t), "seeds": len(cs), **entry, "mean_share": share})
    return out


def _accuracy(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (lr, time): clean and noisy accuracy and the accuracy drop over seeds (mean, 95% t-interval)."""
    groups: dict[tuple[float, float], list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        groups[(c["lr"], c["noise_level"])].append(c)
    return [{"lr": lr, "noise_level": t, "time": time_label(t),
             **{k: mean_ci([c.get(k, math.nan) for c in cs]) for k in ("clean_acc", "noisy_acc_mean", "acc_drop")}}
            for (lr, t), cs in sorted(groups.items())]  # fmt: skip


def verdict_lines(v: dict[str, Any]) -> list[str]:
    """The timed model's sentences, the answer first."""
    fits = v["prediction_fit"]
    if not fits:
        return ["No finished, non-diverged runs with noise measurements: nothing to verify."]
    per_time = "; ".join(f"{time_label(f['noise_level'])}: median {fixed(f['median_ratio'])}, "
                         f"{f['holds']}/{f['fails']}/{f['undetermined']}" for f in fits)  # fmt: skip
    shares: dict[float, list[float]] = defaultdict(list)
    for r in v["prediction"]:
        shares[r["noise_level"]].append(r["mean_share"])
    share = "; ".join(f"{time_label(t)}: {percent(median(s))}" for t, s in sorted(shares.items()))
    lines = [f"Answer: measured/predicted ΔL (prediction gᵀμ + ½μᵀHμ + ½tr(HΣ(t))) per inference time, median over "
             f"runs and ±10% equivalence holds/fails/undetermined — {per_time}.",
             f"Share of the prediction the noise's mean carries ((gᵀμ + ½μᵀHμ)/prediction, median over runs) — "
             f"{share}."]  # fmt: skip
    acc: dict[float, list[str]] = defaultdict(list)
    for a in v["accuracy"]:
        acc[a["noise_level"]].append(f"lr {a['lr']:g} {fixed(a['noisy_acc_mean']['mean'], 3)}")
    lines.append("Noisy accuracy by time and lr (mean over seeds) — "
                 + "; ".join(f"{time_label(t)}: {', '.join(e)}" for t, e in sorted(acc.items())) + ".")
    spots = v["sweet_spot"]
    if spots:
        picks = "; ".join(f"{time_label(s['noise_level'])}: measured {_lr(s['measured_lr_loss'])}, predicted "
                          f"{_lr(s['predicted_lr'])}, null {_lr(s['null_lr'])}" for s in spots)  # fmt: skip
        lines.append(f"Sweet spot under pcm (lr of the lowest noisy loss; the prediction's pick argmin clean loss + "
                     f"predicted ΔL; the null's argmin clean loss) — {picks}.")
    return lines


def _lr(lr: float | None) -> str:
    return "—" if lr is None else f"{lr:g}"
