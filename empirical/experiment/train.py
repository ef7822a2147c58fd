"""Training: SGD with heavy-ball momentum at a constant learning rate, fixed epochs, seeded.

The loop is visible on purpose (no callbacks). A run diverges when a mini-batch loss is NaN/inf,
an epoch's mean loss exceeds ``divergence_factor`` × the first epoch's, or the network is frozen
(:func:`frozen`) at two consecutive epoch ends; it then stops early.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn
from torch.optim.sgd import sgd


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`: ``status`` is ``"ok"`` or ``"diverged"``; losses are mean cross-entropy."""

    status: str
    failure: str | None  # "nonfinite", "exploded" or "collapsed" (frozen) when diverged
    epochs: int  # epochs completed
    epoch_losses: tuple[float, ...]
    seconds: float


COLLAPSE_MARGIN = 0.01  # nats: a loss within this of the label entropy is no better than a constant
FROZEN_EPOCHS = 2  # consecutive epoch ends: by the second, momentum has decayed by β^(batches per epoch)


def label_entropy(y: Tensor) -> float:
    """Entropy of the label frequencies (nats): the mean cross-entropy of the best constant predictor."""
    p = torch.bincount(y).double() / len(y)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


@torch.no_grad()
def _sgd_step(
    params: list[Tensor], buffers: list[Tensor | None], *, lr: float, momentum: float, weight_decay: float
) -> None:
    """One torch.optim.SGD step (no dampening or Nesterov) of the parameters that have a gradient; ``buffers``
    holds their momentum buffers (None before the first step) and is updated in place."""
    live = [i for i, p in enumerate(params) if p.grad is not None]
    moved = [buffers[i] for i in live]
    sgd([params[i] for i in live], [params[i].grad for i in live], moved, weight_decay=weight_decay,
        momentum=momentum, lr=lr, dampening=0.0, nesterov=False, maximize=False)  # fmt: skip
    for i, buffer in zip(live, moved, strict=True):
        buffers[i] = buffer


@torch.no_grad()
def frozen(model: nn.Module, x: Tensor, chunk: int = 4096) -> bool:
    """True when ``model`` (in eval mode) gives every input in ``x`` exactly the same logits.

    Then some layer's output is constant, e.g. every ReLU of a layer is dead on every input. Its
    gradient, and that of every layer before it, is then exactly 0, so SGD can only move the layers
    after it and the network stays a constant predictor: a collapsed run.
    """
    was_training = model.training
    model.eval()
    try:
        first = model(x[:1])
        return all(torch.equal(logits, first.expand_as(logits)) for logits in map(model, x.split(chunk)))
    finally:
        model.train(was_training)


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
    # torch.optim.SGD's own update function, without the optimizer object around it: on the default
    # preset's CNN (8,010 parameters, batches of 100, 1 thread) Optimizer.step's bookkeeping cost about
    # 1 ms of a 5–6 ms step. The update is the same, bit for bit (tests/experiment/test_train.py).
    params = [p for p in model.parameters() if p.requires_grad]
    buffers: list[Tensor | None] = [None] * len(params)
    model.train()
    start = time.perf_counter()
    epoch_losses: list[float] = []
    failure: str | None = None
    entropy, frozen_epochs = label_entropy(y), 0
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator).to(x.device)
        total, finite = 0.0, True
        for idx in order.split(batch_size):
            xb = x[idx] if augment is None else augment(x[idx], generator)
            loss = nn.functional.cross_entropy(model(xb), y[idx])
            if not torch.isfinite(loss):
                finite = False
                break
            for p in params:
                p.grad = None
            loss.backward()
            _sgd_step(params, buffers, lr=lr, momentum=momentum, weight_decay=weight_decay)
            total += loss.item() * len(idx)
        if not finite or not math.isfinite(total):
            failure = "nonfinite"
            break
        epoch_losses.append(total / len(y))
        if epoch_losses[-1] > divergence_factor * epoch_losses[0]:
            failure = "exploded"
            break
        # A constant predictor does not beat the label entropy: only then can the network be frozen.
        stuck = epoch_losses[-1] >= entropy - COLLAPSE_MARGIN
        frozen_epochs = frozen_epochs + 1 if stuck and frozen(model, x) else 0
        if frozen_epochs == FROZEN_EPOCHS:
            failure = "collapsed"
            break
    model.eval()
    status = "ok" if failure is None else "diverged"
    return TrainResult(status, failure, len(epoch_losses), tuple(epoch_losses), time.perf_counter() - start)
