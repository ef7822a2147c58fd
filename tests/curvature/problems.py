"""Tiny float64 problems whose curvature is known exactly; shared by the curvature tests.

Weights are doubled from PyTorch's init and labels are random, so the models sit far from a minimum
and H − G is large: an estimator that confused G with H would be caught. ``mlp`` and ``cnn`` use
smooth activations (tanh, GELU), where tr(H − G) ≠ 0; ``relu_cnn`` and ``bn_cnn`` (with eval-mode
batch norm) are piecewise linear, where tr(H − G) = 0 exactly (see ``empirical.curvature.gauss_newton``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from empirical.curvature import exact_gauss_newton, exact_hessian


@dataclass(frozen=True)
class Problem:
    model: nn.Module
    x: Tensor
    y: Tensor
    H: Tensor  # exact Hessian, parameters in named_parameters() order
    G: Tensor  # exact Gauss–Newton matrix

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.model.named_parameters()]

    def blocks(self) -> dict[str, slice]:
        out, start = {}, 0
        for n, p in self.model.named_parameters():
            out[n] = slice(start, start + p.numel())
            start += p.numel()
        return out

    def scale(self, seed: int = 0) -> dict[str, Tensor]:
        """A Σ₁^½ on the weights only (biases noise-free), positive and uneven."""
        g = torch.Generator().manual_seed(seed)
        return {
            n: 0.2 + torch.rand(p.shape, generator=g, dtype=p.dtype)
            for n, p in self.model.named_parameters()
            if n.endswith("weight")
        }

    def flat_scale(self, scale: dict[str, Tensor]) -> Tensor:
        return torch.cat([scale.get(n, torch.zeros_like(p)).reshape(-1) for n, p in self.model.named_parameters()])


@functools.cache
def problem(name: str) -> Problem:
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    if name == "mlp":
        model = nn.Sequential(nn.Linear(6, 10), nn.Tanh(), nn.Linear(10, 4))
        x, classes = torch.randn(48, 6, generator=g), 4
    elif name == "bn_cnn":  # conv, eval-mode batch norm with non-trivial statistics, ReLU, linear
        bn = nn.BatchNorm1d(3)
        bn.running_mean.uniform_(-0.5, 0.5, generator=g)
        bn.running_var.uniform_(0.5, 2.0, generator=g)
        bn.weight.data.uniform_(0.5, 1.5, generator=g)
        bn.bias.data.uniform_(-0.2, 0.2, generator=g)
        model = nn.Sequential(nn.Conv1d(2, 3, 3, stride=2), bn, nn.ReLU(), nn.Flatten(), nn.Linear(12, 3))
        x, classes = torch.randn(48, 2, 10, generator=g), 3
    elif name in ("cnn", "relu_cnn"):
        act1, act2 = (nn.GELU(), nn.Tanh()) if name == "cnn" else (nn.ReLU(), nn.ReLU())
        model = nn.Sequential(
            nn.Conv1d(2, 3, 3), act1, nn.Conv1d(3, 4, 3, stride=2), act2, nn.Flatten(), nn.Linear(12, 3)
        )
        x, classes = torch.randn(48, 2, 10, generator=g), 3
    elif name == "flat_cnn":  # the Flatten breaks the chain of layers: gn's closed form samples τ² (kinks_chain)
        model = nn.Sequential(nn.Conv1d(2, 3, 3), nn.GELU(), nn.Flatten(), nn.Linear(24, 6), nn.Tanh(), nn.Linear(6, 3))
        x, classes = torch.randn(48, 2, 10, generator=g), 3
    else:
        raise KeyError(name)
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)
    x, y = x.double(), torch.randint(0, classes, (48,), generator=g)
    return Problem(model, x, y, exact_hessian(model, x, y), exact_gauss_newton(model, x, y))


SMOOTH = ("mlp", "cnn")
ALL = ("mlp", "cnn", "relu_cnn", "bn_cnn")
PIECEWISE_LINEAR = ("relu_cnn", "bn_cnn")
