"""95% intervals for a ratio measured/predicted that stay sound when the denominator is uncertain.

- :func:`fieller`: the exact (Fieller) set {ρ : |m − ρp| ≤ z·√(se_m² + ρ²se_p²)} for m ± se_m over
  p ± se_p with independent normal errors; it is a bounded interval only when p is itself
  significantly nonzero (p² > z²se_p²), otherwise the ratio is not determined at 95%;
- :func:`log_ratio`: exp(log R ± z·σ) for a positive ratio R whose relative error is σ (the
  interval of choice for a mean of ratios, which is nearly log-normal and never crosses 0).

Both return ``(low, high)``; NaN bounds mean *undetermined*: a non-finite standard error, a
non-positive ratio or an unbounded Fieller set. A missing error is never read as 0.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # standard normal 97.5% quantile
NAN_PAIR = (math.nan, math.nan)


def fieller(m: float, se_m: float, p: float, se_p: float, z: float = Z95) -> tuple[float, float]:
    """Fieller's interval for m/p (m ± se_m, p ± se_p, independent); NaN where undetermined."""
    if not all(math.isfinite(x) for x in (m, se_m, p, se_p)) or se_m < 0 or se_p < 0:
        return NAN_PAIR
    a = p * p - z * z * se_p * se_p
    b = m * p
    c = m * m - z * z * se_m * se_m
    disc = b * b - a * c
    if a <= 0 or disc < 0:  # p not distinguishable from 0: the set is unbounded (or everything)
        return NAN_PAIR
    root = math.sqrt(disc)
    return (b - root) / a, (b + root) / a


def log_ratio(ratio: float, rel_se: float, z: float = Z95) -> tuple[float, float]:
    """exp(log R ± z·rel_se) for R > 0 with relative error ``rel_se`` = se(R)/R; NaN where undetermined."""
    if not (math.isfinite(ratio) and math.isfinite(rel_se)) or ratio <= 0 or rel_se < 0:
        return NAN_PAIR
    return ratio * math.exp(-z * rel_se), ratio * math.exp(z * rel_se)
