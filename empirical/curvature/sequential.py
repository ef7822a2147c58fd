"""Sequential Monte Carlo mean with a standard error and a stopping rule, shared by the estimators.

Samples X_1, X_2, ... are i.i.d. vectors (one entry per block, e.g. per layer). After n samples the
estimate of block b is offset_b + mean_b, with standard error

    se_b = s_b / √n · t_{n−1, 0.975} / z_{0.975},

s_b the sample standard deviation. The factor t/z (1.15 at n = 10, 1.05 at n = 30, → 1) is a
small-sample correction: it makes ±1.96·se the exact 95% Student-t interval for normal samples,
so a reader may use se like a normal standard error even at the minimum sample size.

Stopping: sampling continues until every block has se_b ≤ max(rel_se·|estimate_b|, abs_se), or the
sample budget is spent, whichever comes first, never before ``min_samples`` (an honest se needs a
variance estimate from a few samples). Rounds are sized by projecting the samples still needed
from the current variance (n·(se/target)²), at most doubling n per round. When the offsets carry
standard errors of their own (another estimate sharing the target), a block stops once
√(se_b² + offset_se_b²) meets it, and the projection uses the room target² − offset_se².
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from scipy.stats import t as student_t
from torch import Tensor

Z975 = 1.959963984540054


def t_factor(n: int) -> float:
    """t_{n−1, 0.975} / z_{0.975}; infinite for n < 2."""
    return math.inf if n < 2 else float(student_t.ppf(0.975, n - 1)) / Z975


@dataclass(frozen=True)
class MeanResult:
    values: Tensor  # (B,) float64: offset + mean
    ses: Tensor  # (B,) float64
    samples: int
    exact: bool = False  # True when the value came from an exact computation (se = 0)
    needed: float = math.nan  # samples projected to meet the target when sampling stopped (``run``)


def mean_and_se(samples: Tensor) -> tuple[Tensor, Tensor]:
    """(n, B) samples -> mean (B,) and t-corrected standard error (B,), both float64."""
    samples = samples.double()
    n = samples.shape[0]
    mean = samples.mean(0)
    if n < 2:
        return mean, torch.full_like(mean, math.inf)
    return mean, samples.std(0, unbiased=True) / math.sqrt(n) * t_factor(n)


def run(
    draw: Callable[[int], Tensor],
    *,
    offsets: Tensor,
    rel_se: float,
    abs_se: float,
    min_samples: int,
    max_samples: int,
    max_round: int = 64,
    switch: Callable[[int, float], MeanResult] | None = None,
    switch_cost: int | None = None,
    offset_ses: Tensor | None = None,
    give_up_above: float = math.inf,
) -> MeanResult:
    """Draw rounds of samples (``draw(k)`` -> (k, B)) until the se target or the budget is met.

    ``switch`` is a better method for long runs (the exact diagonal, or Hutch++): once the
    projected number of samples still needed reaches ``switch_cost`` (and ``switch_cost`` more fit
    the budget), ``switch(n, needed)`` is returned instead, with the n samples drawn so far
    discarded. ``switch_cost <= min_samples`` switches before sampling. ``offset_ses``: the
    offsets' standard errors (default 0; see the module docstring). ``give_up_above``: stop once
    more samples than this are projected in all (``MeanResult.needed`` says how many), for a caller
    that then prefers another estimator.
    """
    offsets = offsets.double()
    offset_ses = torch.zeros_like(offsets) if offset_ses is None else offset_ses.double()
    min_samples = min(min_samples, max_samples)
    if switch is not None and switch_cost is not None and switch_cost <= min_samples:
        return switch(0, math.inf)
    chunks: list[Tensor] = []
    n, want = 0, max(min_samples, 2) if max_samples >= 2 else 1
    while True:
        k = max(1, min(want - n, max_round, max_samples - n))
        chunks.append(draw(k).double().cpu())
        n += k
        samples = torch.cat(chunks)
        mean, se = mean_and_se(samples)
        values = offsets + mean
        target = torch.clamp(rel_se * values.abs(), min=abs_se)
        # met, or no sampling error left to reduce (offset ses alone can exceed the target)
        if n >= min_samples and (bool((torch.hypot(se, offset_ses) <= target).all()) or not bool(se.any())):
            return MeanResult(values, se, n, needed=float(n))
        # samples needed so that every block meets its target, if the variance holds; the room left by
        # the offsets' ses is √(target² − offset_se²), exactly target where they are 0
        room = target * (1 - (offset_ses / target.clamp(min=1e-300)).square()).clamp(min=0).sqrt()
        ratio = float(torch.max((se / room.clamp(min=1e-300)) ** 2)) if bool((room > 0).all()) else math.inf
        needed = n * ratio if math.isfinite(ratio) else math.inf
        if n >= max_samples or (n >= min_samples and needed > give_up_above):
            return MeanResult(values, se, n, needed=needed)
        if n < min_samples:
            want = min_samples
            continue
        if switch is not None and switch_cost is not None and needed - n >= switch_cost and n + switch_cost <= max_samples:
            return switch(n, needed)
        want = int(min(max(math.ceil(1.1 * needed), n + 1), 2 * n, max_samples))
