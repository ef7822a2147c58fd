"""The bootstrap the identification statistics share: seeds resampled within each learning rate, and
the Monte Carlo noise draws resampled jointly for every run (they are common random numbers).

Runs are the rows i = 1..n, grouped by learning rate ``groups[i]``; each run has a target with its
per-draw values ``y[i, k]`` (k = 1..K, the same draws for every run; K = 1 where the results hold no
per-draw increases, and the draws are then fixed) and candidate values ``x[i, j]``. A replicate
draws, within each group, as many runs with replacement as it has, and K draw indices with
replacement shared by all runs. The curvature estimates (``x``) are held fixed: every interval built
on these replicates is conditional on them and on the learning-rate grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Replicates:
    """``y``: (B, n) the targets (draw means), ``x``: (B, n, q) the candidates; runs keep their group
    positions, so ``groups`` holds for every replicate."""

    y: np.ndarray
    x: np.ndarray


def replicates(groups: np.ndarray, y: np.ndarray, x: np.ndarray, reps: int, rng: np.random.Generator) -> Replicates:
    """``reps`` bootstrap replicates of runs (``groups`` (n,), ``y`` (n, K), ``x`` (n, q))."""
    n, k = y.shape
    idx = np.empty((reps, n), dtype=int)
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        idx[:, members] = members[rng.integers(0, len(members), size=(reps, len(members)))]
    if k > 1:
        counts = rng.multinomial(k, np.full(k, 1.0 / k), size=reps)  # (B, K) draw multiplicities
        y_mean = counts @ y.T / k  # (B, n)
    else:
        y_mean = np.broadcast_to(y[:, 0], (reps, n))
    return Replicates(np.take_along_axis(y_mean, idx, axis=1), x[idx])


def percentile(values: np.ndarray) -> tuple[float, float, int]:
    """95% percentile interval of the finite ``values`` and how many there were."""
    v = values[np.isfinite(values)]
    if not len(v):
        return float("nan"), float("nan"), 0
    low, high = np.percentile(v, [2.5, 97.5])
    return float(low), float(high), int(len(v))
