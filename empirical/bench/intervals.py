"""Confidence intervals for the benchmark's two figures: a speed-up and a coverage fraction.

- :func:`ratio_interval`: a ratio of paired positive timings a_r / b_r (repeat r runs both,
  interleaved), as the geometric mean exp(d̄) of the ratios with the t-interval
  exp(d̄ ± t_ν · √(s_d²/R + v)), d_r = log(a_r/b_r). ``v`` is the variance of the log of a factor
  common to every repeat, estimated from many samples (e.g. a number of probes); ν is then the
  Welch–Satterthwaite degrees of freedom (R − 1)(1 + vR/s_d²)², R − 1 when v = 0.
- :func:`log_variance_var`: that ``v`` for a factor proportional to a sample variance σ̂², by the
  delta method: Var[log σ̂²] ≈ (κ − 1)/N, κ the kurtosis of the N samples.
- :func:`wilson`: the Wilson score interval of a binomial fraction k/n (sound at k = n, where the
  normal interval collapses to a point).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Interval:
    """A point estimate, its two-sided interval [low, high] at ``level``, and the count behind it."""

    value: float
    low: float
    high: float
    level: float
    n: int


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1). Got {level}.")


def ratio_interval(a: Sequence[float], b: Sequence[float], *, level: float = 0.95, v: float = 0.0) -> Interval:
    """Geometric-mean ratio of paired positive values a_r / b_r with its log-scale t-interval (needs R ≥ 2)."""
    _check_level(level)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"need two or more pairs of equal length. Got {len(a)} and {len(b)} values.")
    if min(*a, *b) <= 0 or v < 0:
        raise ValueError(f"values must be > 0 and v >= 0. Got min {min(*a, *b)}, v = {v}.")
    d = [math.log(x / y) for x, y in zip(a, b)]
    mean, within = statistics.fmean(d), statistics.variance(d) / len(d)
    dof = math.inf if within == 0 else (len(d) - 1) * (1 + v / within) ** 2
    half = stats.t.ppf(0.5 + level / 2, dof) * math.sqrt(within + v)
    return Interval(math.exp(mean), math.exp(mean - half), math.exp(mean + half), level, len(d))


def log_variance_var(samples: Sequence[float]) -> float:
    """Var[log σ̂²] ≈ (κ − 1)/N for the sample variance σ̂² of N i.i.d. ``samples`` (N ≥ 2)."""
    if len(samples) < 2:
        raise ValueError(f"need two or more samples. Got {len(samples)}.")
    mean = statistics.fmean(samples)
    m2 = statistics.fmean((s - mean) ** 2 for s in samples)
    if m2 == 0:
        return 0.0
    kurtosis = statistics.fmean((s - mean) ** 4 for s in samples) / m2**2
    return max(kurtosis - 1, 0.0) / len(samples)


def wilson(successes: int, trials: int, *, level: float = 0.95) -> Interval:
    """The fraction successes/trials with its Wilson score interval."""
    _check_level(level)
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, trials >= 1. Got {successes} of {trials}.")
    z = stats.norm.ppf(0.5 + level / 2)
    p, n = successes / trials, trials
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(p, max(0.0, center - half), min(1.0, center + half), level, n)
