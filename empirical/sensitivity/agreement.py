"""Do the layers' loss increases add up, and does the theory rank the layers right?

Additivity: with block-diagonal Σ₁, E[ΔL] = Σ_l E[ΔL_l] to second order (the cross-layer blocks
H_lm meet independent noise); cross-layer terms of fourth and higher order, and the kink term's
nonlinearity in the noise std, break it. Every layer's draw k is a slice of the overall draw k
(``layers.py``), so the check pairs them: D_k = Σ_l d_{l,k} − d_{all,k} over the pairs k that all
share, mean ± its standard error sd(D)/√pairs.

Rank agreement: Kendall τ-b between the predicted and the measured ΔL_l across layers, with a
percentile interval from a bootstrap that resamples the antithetic pairs (the same k for every
layer, which keeps their draws' correlation). Replicates with a constant column (τ undefined) are
left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from empirical.experiment.evaluate import NoisyEvaluation

RESAMPLES = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Additivity:
    """At one noise level, over the first ``pairs`` antithetic pairs: Σ_l ΔL_l, ΔL_all (nats) and
    their difference ± SE (paired draw by draw)."""

    noise_level: float
    pairs: int
    layer_sum: float
    overall: float
    difference: float
    difference_se: float


@dataclass(frozen=True)
class RankAgreement:
    """Kendall τ-b of predicted against measured ΔL_l across layers at one noise level, with its
    ``confidence`` bootstrap interval over ``resamples`` resamples of the pairs (NaN for < 2 layers)."""

    noise_level: float
    tau: float
    low: float
    high: float
    resamples: int
    confidence: float


def additivity(overall: NoisyEvaluation, layers: list[NoisyEvaluation]) -> Additivity:
    """The paired check at one level; all evaluations from the same ``noise_seed``."""
    pairs = min(len(overall.pair_increase), *(len(e.pair_increase) for e in layers))
    total = np.sum([e.pair_increase[:pairs] for e in layers], axis=0)
    diff = total - overall.pair_increase[:pairs]
    se = float(diff.std(ddof=1) / math.sqrt(pairs)) if pairs > 1 else math.nan
    return Additivity(overall.noise_level, pairs, float(total.mean()), float(overall.pair_increase[:pairs].mean()),
                      float(diff.mean()), se)  # fmt: skip


def kendall(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Kendall τ-b of ``a`` (n,) against each row of ``b`` (..., n): Σ_{i<j} s_a s_b / √(Σ s_a² · Σ s_b²)
    with s = sign of the pair's difference (``scipy.stats.kendalltau``'s τ-b); NaN for a constant
    vector or n < 2."""
    i, j = np.triu_indices(len(a), k=1)
    sa, sb = np.sign(a[i] - a[j]), np.sign(b[..., i] - b[..., j])
    norm = np.sqrt(np.sum(sa**2) * np.sum(sb**2, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(norm > 0, np.sum(sa * sb, axis=-1) / norm, np.nan)
    return float(tau) if tau.ndim == 0 else tau


def rank_agreement(
    noise_level: float, predicted: np.ndarray, pair_increases: np.ndarray, seed: int, resamples: int = RESAMPLES
) -> RankAgreement:
    """τ(predicted, measured) with a bootstrap interval.

    predicted: (layers,) predicted ΔL_l; pair_increases: (layers, pairs) the d_{l,k} of the layers'
    Monte Carlo, columns the same draws; ``seed`` seeds the resampling of the pairs.
    """
    tau = kendall(predicted, pair_increases.mean(axis=1))
    pairs = pair_increases.shape[1]
    picks = np.random.default_rng(seed).integers(0, pairs, (resamples, pairs))
    boots = kendall(predicted, pair_increases[:, picks].mean(axis=2).T)
    boots = boots[np.isfinite(boots)]
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(boots, [tail, 100 - tail]) if len(boots) else (math.nan, math.nan)
    return RankAgreement(noise_level, tau, float(low), float(high), resamples, CONFIDENCE)


def shares(values: dict[str, float]) -> dict[str, float]:
    """Each layer's share of the sum, largest first (NaN when the sum is not positive)."""
    total = sum(values.values())
    ordered = sorted(values.items(), key=lambda kv: -kv[1])
    return {k: v / total if total > 0 else math.nan for k, v in ordered}


def dominant(values: dict[str, float], fraction: float = 0.5) -> list[str]:
    """The fewest layers, largest first, whose share of the sum reaches ``fraction``."""
    out, covered = [], 0.0
    for name, share in shares(values).items():
        if covered >= fraction or not math.isfinite(share):
            break
        out.append(name)
        covered += share
    return out
