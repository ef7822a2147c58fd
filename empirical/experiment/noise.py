"""Weight noise: which parameters get it, its per-entry scale Σ₁^½, and the draws.

A noisy weight is ``w + η · s ⊙ z`` with ``z ~ N(0, I)``, so Σ(η) = η² Σ₁ with Σ₁ = diag(s²):

| noise model      | s (per entry)                                   |
|------------------|-------------------------------------------------|
| ``layer-relative`` | std(W_l), the population std of the entry's tensor |
| ``multiplicative`` | |w_i|                                           |
| ``additive``       | 1                                               |

Draws are common random numbers: draw ``k`` depends only on ``(noise_seed, k)`` and the parameter
shapes, never on the run, so every learning rate and seed sees the same z at a given sample index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor, nn

from empirical.sweep.config import GAUSSIAN_NOISE_MODELS, NOISE_SCOPES


def targets(model: nn.Module, scope: str = "weights") -> list[str]:
    """Names of the parameters that receive noise.

    ``"weights"``: names ending in ``weight`` with ``ndim >= 2`` (convolution and linear weights);
    ``"all"``: every parameter.
    """
    if scope not in NOISE_SCOPES:
        raise ValueError(f"unknown noise scope {scope!r}; choose one of {', '.join(NOISE_SCOPES)}")
    return [
        name
        for name, p in model.named_parameters()
        if scope == "all" or (name.endswith("weight") and p.ndim >= 2)
    ]


def scale(model: nn.Module, noise_model: str, names: list[str]) -> dict[str, Tensor]:
    """Σ₁^½ per targeted parameter: a tensor of the parameter's shape (noise std per unit η)."""
    if noise_model not in GAUSSIAN_NOISE_MODELS:
        raise ValueError(f"no Σ₁ for noise model {noise_model!r}; choose one of {', '.join(GAUSSIAN_NOISE_MODELS)}")
    params = dict(model.named_parameters())
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"noise targets {missing} are not parameters of the model")
    out = {}
    for name in names:
        w = params[name].detach()
        if noise_model == "layer-relative":
            out[name] = torch.full_like(w, w.std(correction=0).item())
        elif noise_model == "multiplicative":
            out[name] = w.abs()
        else:
            out[name] = torch.ones_like(w)
    return out


def draw(shapes: dict[str, torch.Size], noise_seed: int, index: int) -> dict[str, Tensor]:
    """Standard normal z for draw ``index``, one CPU tensor per shape, from ``(noise_seed, index)``."""
    seed = int(np.random.SeedSequence([noise_seed, index]).generate_state(1, dtype=np.uint64)[0] >> 1)
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.randn(shape, generator=generator) for name, shape in shapes.items()}


def perturbed(params: dict[str, Tensor], scales: dict[str, Tensor], z: dict[str, Tensor], eta: float) -> dict[str, Tensor]:
    """``w + η · s ⊙ z`` for the targeted parameters; ``z`` must be on the parameters' device."""
    return {name: params[name] + eta * scales[name] * z[name] for name in scales}


class Source(Protocol):
    """A noise model as the Monte Carlo uses it: the standard normals of draw ``index`` and the weights
    they give at a level (η, or a PCM time) and sign (+1, or −1 for the antithetic partner −z)."""

    def normals(self, noise_seed: int, index: int) -> dict[str, Tensor]: ...

    def weights(
        self, params: dict[str, Tensor], z: dict[str, Tensor], level: float, sign: float
    ) -> dict[str, Tensor]: ...


@dataclass(frozen=True)
class Gaussian:
    """The Gaussian noise models: ``w + sign · η · s ⊙ z`` with Σ₁^½ = ``scales`` (from :func:`scale`)."""

    scales: dict[str, Tensor]

    def normals(self, noise_seed: int, index: int) -> dict[str, Tensor]:
        return draw({name: s.shape for name, s in self.scales.items()}, noise_seed, index)

    def weights(self, params: dict[str, Tensor], z: dict[str, Tensor], level: float, sign: float) -> dict[str, Tensor]:
        return perturbed(params, self.scales, z, sign * level)
