"""Clean and noisy evaluation: mean cross-entropy and accuracy over a split, Monte Carlo over noise.

The Monte Carlo uses antithetic pairs: draw k gives z_k, evaluated at ``w + η s⊙z_k`` and
``w − η s⊙z_k``. The pair mean cancels every odd-order term of the Taylor expansion, so
d_k = (L(w+ε_k) + L(w−ε_k))/2 − L(w) is an unbiased, lower-variance sample of E[ΔL].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from empirical.experiment import noise


@torch.no_grad()
def loss_and_accuracy(
    model: nn.Module, x: Tensor, y: Tensor, batch_size: int, params: dict[str, Tensor] | None = None
) -> tuple[float, float]:
    """Mean cross-entropy (nats) and accuracy (fraction) of ``model`` (with ``params`` swapped in)."""
    total_loss, correct = 0.0, 0
    for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
        logits = model(xb) if params is None else functional_call(model, params, (xb,))
        total_loss += torch.nn.functional.cross_entropy(logits, yb, reduction="sum").item()
        correct += (logits.argmax(1) == yb).sum().item()
    return total_loss / len(y), correct / len(y)


@dataclass(frozen=True)
class NoisyEvaluation:
    """Per-draw results at one noise level; arrays have shape (pairs, 2): [:, 0] at +ε, [:, 1] at −ε."""

    noise_level: float
    clean_loss: float
    clean_acc: float
    losses: np.ndarray
    accs: np.ndarray

    @property
    def pair_increase(self) -> np.ndarray:
        """d_k = mean of the pair's losses − clean loss; shape (pairs,)."""
        return self.losses.mean(axis=1) - self.clean_loss

    def row(self) -> dict[str, float | int]:
        """The measured columns of ``noise.csv`` (standard errors over antithetic pairs)."""
        d = self.pair_increase
        pairs = len(d)
        accs = self.accs.ravel()
        noisy_acc_mean = float(accs.mean())
        return {
            "noise_level": self.noise_level,
            "samples": 2 * pairs,
            "clean_loss": self.clean_loss,
            "noisy_loss_mean": float(self.losses.mean()),
            "delta_loss": float(d.mean()),
            "delta_loss_se": float(d.std(ddof=1) / np.sqrt(pairs)) if pairs > 1 else float("nan"),
            "delta_loss_std": float(self.losses.ravel().std(ddof=1)),
            "clean_acc": self.clean_acc,
            "noisy_acc_mean": noisy_acc_mean,
            "noisy_acc_std": float(accs.std(ddof=1)),
            "noisy_acc_se": float(self.accs.mean(axis=1).std(ddof=1) / np.sqrt(pairs)) if pairs > 1 else float("nan"),
            "normalized_acc": noisy_acc_mean / self.clean_acc if self.clean_acc > 0 else float("nan"),
        }


def monte_carlo(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    scales: dict[str, Tensor],
    levels: tuple[float, ...],
    samples: int,
    noise_seed: int,
    batch_size: int,
) -> list[NoisyEvaluation]:
    """Evaluate ``model`` under ``samples`` noise draws (``samples/2`` antithetic pairs) per level.

    ``scales`` is Σ₁^½ from :func:`empirical.experiment.noise.scale`. Draw k is the same for every level and,
    through :func:`empirical.experiment.noise.draw`, for every model with the same parameter shapes.
    """
    if samples < 2 or samples % 2:
        raise ValueError(f"samples {samples!r} must be an even integer >= 2")
    device = next(model.parameters()).device
    params = {name: p.detach() for name, p in model.named_parameters()}
    clean_loss, clean_acc = loss_and_accuracy(model, x, y, batch_size)
    pairs = samples // 2
    losses = np.empty((len(levels), pairs, 2))
    accs = np.empty((len(levels), pairs, 2))
    shapes = {name: s.shape for name, s in scales.items()}
    for k in range(pairs):
        z = {name: t.to(device) for name, t in noise.draw(shapes, noise_seed, k).items()}
        for i, eta in enumerate(levels):
            for j, sign in enumerate((1.0, -1.0)):
                swapped = noise.perturbed(params, scales, z, sign * eta)
                losses[i, k, j], accs[i, k, j] = loss_and_accuracy(model, x, y, batch_size, swapped)
    return [NoisyEvaluation(eta, clean_loss, clean_acc, losses[i], accs[i]) for i, eta in enumerate(levels)]
