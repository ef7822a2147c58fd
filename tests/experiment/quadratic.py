"""A model whose noisy loss is an exact quadratic, for Monte Carlo tests."""

import torch
from torch import nn


class QuadraticLoss(nn.Module):
    """A model whose mean cross-entropy on label 0 is exactly q(W) = ½ Σ a W² + 1.

    Logits are (0, log(expm1(q))), so CE = log(1 + expm1(q)) = q. Under W + ε with
    ε ~ N(0, η² s²) the exact expected increase is ½ η² Σ a s².
    """

    def __init__(self, a: torch.Tensor, w: torch.Tensor):
        super().__init__()
        self.register_buffer("a", a)
        self.weight = nn.Parameter(w.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = 0.5 * (self.a * self.weight**2).sum() + 1.0
        other = torch.log(torch.expm1(q))
        return torch.stack([torch.zeros(len(x)), other.expand(len(x))], dim=1)


def quadratic() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """The model with a (4, 5) weight, and three samples of label 0."""
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 5, generator=g, dtype=torch.float64) * 2
    w = torch.randn(4, 5, generator=g, dtype=torch.float64)
    model = QuadraticLoss(a, w).double()
    x, y = torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3, dtype=torch.long)
    return model, x, y
