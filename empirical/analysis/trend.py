"""Which way a quantity moves with the learning rate: Spearman's ρ between lr and the lr means, with a
bootstrap interval.

The lr means of replicate b are the means over the runs of each learning rate of
:class:`~empirical.analysis.resample.Replicates` (seeds resampled within lr, the shared noise draws
resampled jointly), so ρ's 95% percentile interval carries both errors. :func:`direction` reads it:
:data:`RISES` (interval above 0), :data:`FALLS` (below 0), else :data:`FLAT` (not resolved).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import rankdata

from empirical.analysis.resample import percentile

RISES, FALLS, FLAT = "rises", "falls", "not resolved"


def lr_means(groups: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the learning rates ascending (L,), the means of ``values`` (..., n) over each lr's runs (..., L))."""
    lrs = np.unique(groups)
    return lrs, np.stack([values[..., groups == lr].mean(axis=-1) for lr in lrs], axis=-1)


def spearman(means: np.ndarray) -> np.ndarray:
    """Spearman's ρ between the position 0..L−1 (lr ascending) and ``means`` (..., L); NaN without spread."""
    ranks = rankdata(means, axis=-1)
    x = np.arange(means.shape[-1], dtype=float)
    x, ranks = x - x.mean(), ranks - ranks.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ranks * x).sum(-1) / np.sqrt((ranks**2).sum(-1) * (x**2).sum())


def direction(low: float, high: float) -> str:
    """:data:`RISES`, :data:`FALLS` or :data:`FLAT` from ρ's interval."""
    if math.isfinite(low) and low > 0:
        return RISES
    if math.isfinite(high) and high < 0:
        return FALLS
    return FLAT


def trend(groups: np.ndarray, point: np.ndarray, boot: np.ndarray) -> dict[str, Any]:
    """ρ of the lr means of ``point`` (n,) with the interval from ``boot`` (B, n), the lr means with their
    bootstrap standard errors, and the direction."""
    lrs, means = lr_means(groups, point)
    _, boot_means = lr_means(groups, boot)
    low, high, used = percentile(spearman(boot_means)) if len(lrs) > 1 else (math.nan, math.nan, 0)
    rho = float(spearman(means)) if len(lrs) > 1 else math.nan
    se = boot_means.std(axis=0, ddof=1) if len(boot_means) > 1 else np.full(len(lrs), math.nan)
    return {"rho": rho, "rho_ci_low": low, "rho_ci_high": high, "replicates": used, "direction": direction(low, high),
            "per_lr": [{"lr": float(lr), "mean": float(m), "se": float(s)}
                       for lr, m, s in zip(lrs, means, se)]}  # fmt: skip
