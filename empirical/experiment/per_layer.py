"""Per-layer sensitivity of one run: the loss increase with noise on one noise target at a time.

Predicted: ½η² tr(H_ll Σ₁,ll) (the diagonal block of the noise-weighted trace) plus the kink term
of layer l's noise alone; measured: the antithetic Monte Carlo with Σ₁^½ zero outside layer l
(``empirical.sensitivity.layer_monte_carlo``: draw k is layer l's slice of the run's draw k, so the
draws are common to every run and layer). The rows are ``layers.csv``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from empirical import curvature
from empirical.sensitivity import layer_monte_carlo
from theory import predict


def layer_rows(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    scales: dict[str, Tensor],
    levels: tuple[float, ...],
    kinks: Mapping[str, curvature.KinkEstimate],
    *,
    samples: int,
    noise_seed: int,
    blocks: int,
    batch_size: int,
    rel_se: float,
    max_matvecs: int,
    generator: torch.Generator,
) -> list[dict[str, Any]]:
    """One row per (noise target, level): ``layer, noise_level, predicted, predicted_se, measured, measured_se``.

    ``scales``: Σ₁^½ of every noise target; ``levels``: η; ``kinks``: each target's kink term alone at
    ``levels`` (``run.kink_terms``); ``samples``, ``blocks``: the Monte Carlo's noisy passes per level
    and draws per pass; ``generator``: the trace probes (common random numbers when seeded alike for
    every run).
    """
    blocks_of = curvature.layer_traces(
        model, x, y, scale=scales, params=list(scales), rel_se=rel_se, max_matvecs=max_matvecs,
        batch_size=batch_size, generator=generator,
    )  # fmt: skip
    rows = []
    for name, block in blocks_of.items():
        kink = kinks[name]
        measured = layer_monte_carlo(model, x, y, scales, name, levels, samples, noise_seed, batch_size, blocks=blocks)
        for eta, k, k_se, m in zip(levels, kink.values, kink.ses, measured, strict=True):
            second, second_se = (float(predict.delta_loss_second_order(eta, v)) for v in (block.value, block.se))
            row = m.row()
            rows.append({
                "layer": name, "noise_level": eta, "predicted": second + k,
                "predicted_se": (second_se**2 + k_se**2) ** 0.5, "measured": row["delta_loss"],
                "measured_se": row["delta_loss_se"],
            })  # fmt: skip
    return rows
