"""Pooled ratios over cells that share their noise draws: averaged draw by draw, then the spread over draws.

Every run measures ΔL on the same antithetic draws z_k (k = 1..K, ``empirical.experiment.noise``),
at every noise level, so one Monte Carlo fluctuation moves every (run, level) cell together; an
error that treats the cells as independent, √(Σ_c se_c²)/n, is then too small. For cells
c = 1..n with per-pair increases d_ck (``pair_increase`` in ``run.json``) and predictions
p_c ± s_c, the pooled ratio is

    Q_k = (1/n) Σ_c d_ck / p_c,   R = (1/K) Σ_k Q_k,   se_MC = sd_k(Q_k) / √K,

the cells averaged per draw before the spread over draws is taken (the mean of the cells' ratios).
The predictions' errors are added in quadrature, se(R)² = se_MC² + se_p², and bounded as fully
correlated, se_p = (1/n) Σ_c R_c s_c/p_c with R_c = m_c/p_c: their probes are common random
numbers as well (the same for every run), and this bound holds whatever their correlation. The
interval is the log-ratio interval R·exp(±1.96 se(R)/R) (:func:`~empirical.analysis.intervals.log_ratio`;
K is in the hundreds in the presets); a prediction error that is not finite leaves it undetermined
(``se_missing``), never read as 0. For one cell the ratio and its error are those of
:func:`~empirical.analysis.stats.compare`.

Without every cell's d_ck, or with unequal K (results read from the CSV files alone), the Monte
Carlo part falls back to independent cells, se_MC = √(Σ_c (se_m,c/p_c)²)/n, and ``pooling``
says so: that interval is too narrow by up to √n where the draws are shared.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from empirical.analysis.intervals import NAN_PAIR, log_ratio
from empirical.analysis.stats import finite, ratio_entry

COMMON = "draw by draw"  # se over the shared draws of the per-draw mean over cells
INDEPENDENT = "as independent runs"  # no per-draw increases: se of independent cells


def pooled(cells: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Measured ΔL, prediction ``key`` (``p2``, ``p4``, ``pk``; its error ``<key>_se``) and their ratio,
    pooled over ``cells`` with a finite positive prediction; NaN when there is none.

    Returns ``cells`` (the count used), ``pairs`` (K, or None), ``pooling`` (:data:`COMMON` or
    :data:`INDEPENDENT`), ``measured`` ± ``measured_se`` and ``predicted`` ± ``predicted_se`` (the
    means over cells), and the ratio's interval and flags (:func:`~empirical.analysis.stats.ratio_entry`).
    """
    used = [c for c in cells if finite(c[key], c["delta_loss"]) and c[key] > 0]
    n = len(used)
    draws = [c.get("pair_increase") for c in used]
    sizes = {len(d) for d in draws if d is not None}
    common = n > 0 and all(d is not None for d in draws) and len(sizes) == 1 and min(sizes) > 1
    out: dict[str, Any] = {"cells": n, "pairs": sizes.pop() if common else None,
                           "pooling": COMMON if common else INDEPENDENT}  # fmt: skip
    if not n:
        return {**out, "measured": math.nan, "measured_se": math.nan, "predicted": math.nan,
                "predicted_se": math.nan, **ratio_entry(math.nan, math.nan, *NAN_PAIR)}  # fmt: skip
    p = np.array([c[key] for c in used])
    p_se = np.array([c[f"{key}_se"] for c in used], float)
    m = np.array([c["delta_loss"] for c in used])
    if common:
        d = np.stack([np.asarray(x, float) for x in draws])  # (n, K)
        m = d.mean(axis=1)
        k = d.shape[1]
        measured_se = float(d.mean(axis=0).std(ddof=1) / math.sqrt(k))
        mc_se = float((d / p[:, None]).mean(axis=0).std(ddof=1) / math.sqrt(k))
    else:
        m_se = np.array([c.get("delta_loss_se", math.nan) for c in used])
        measured_se = float(np.sqrt((m_se**2).sum()) / n)
        mc_se = float(np.sqrt(((m_se / p) ** 2).sum()) / n)
    ratios = m / p
    ratio = float(ratios.mean())
    se = math.hypot(mc_se, float(np.mean(np.abs(ratios) * p_se / p)))
    entry = ratio_entry(ratio, se, *log_ratio(ratio, se / ratio if ratio else math.nan),
                        se_missing=not math.isfinite(se))  # fmt: skip
    return {**out, "measured": float(m.mean()), "measured_se": measured_se, "predicted": float(p.mean()),
            "predicted_se": float(p_se.mean()), **entry}  # fmt: skip
