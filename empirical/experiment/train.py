"""Training: SGD with heavy-ball momentum at a constant learning rate, fixed epochs, seeded.

The loop is visible on purpose (no callbacks). A run diverges when a mini-batch loss is NaN/inf or
an epoch's mean loss exceeds ``divergence_factor`` × the first epoch's; it then stops early.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`: ``status`` is ``"ok"`` or ``"diverged"``; losses are mean cross-entropy."""

    status: str
    failure: str | None  # "nonfinite" or "exploded" when diverged
    epochs: int  # epochs completed
    epoch_losses: tuple[float, ...]
    seconds: float


def train(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
    epochs: int,
    batch_size: int,
    seed: int,
    divergence_factor: float,
    augment: Callable[[Tensor, torch.Generator], Tensor] | None = None,
) -> TrainResult:
    """Train ``model`` in place on (x, y) (already on the model's device); shuffling uses ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    model.train()
    start = time.perf_counter()
    epoch_losses: list[float] = []
    failure: str | None = None
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator).to(x.device)
        total, finite = 0.0, True
        for idx in order.split(batch_size):
            xb = x[idx] if augment is None else augment(x[idx], generator)
            loss = nn.functional.cross_entropy(model(xb), y[idx])
            if not torch.isfinite(loss):
                finite = False
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        if not finite or not math.isfinite(total):
            failure = "nonfinite"
            break
        epoch_losses.append(total / len(y))
        if epoch_losses[-1] > divergence_factor * epoch_losses[0]:
            failure = "exploded"
            break
    model.eval()
    status = "ok" if failure is None else "diverged"
    return TrainResult(status, failure, len(epoch_losses), tuple(epoch_losses), time.perf_counter() - start)
