"""Tiny networks and quadratic surrogates with exact answers; every sensitivity test on one torch thread."""

import pytest
import torch
from torch import nn


@pytest.fixture(autouse=True, scope="module")
def _threads(one_thread):
    yield


class Quadratic(nn.Module):
    """Mean cross-entropy on label 0 equal to q(w) = ½ wᵀAw + c·|W₁|²|W₂|² + 1 exactly, w = (W₁, W₂) flat.

    Logits (0, log(expm1(q))) give CE = log(1 + expm1(q)) = q. Two noise targets, ``first_weight``
    (2, 3) and ``second_weight`` (3, 2). With A block diagonal and c = 0, a draw's loss increase is
    the sum of its layers'; off-diagonal blocks of A add terms of mean 0; c adds a cross-layer
    fourth-order term of mean c·η⁴·tr Σ₁,₁·tr Σ₁,₂ that no single layer's noise sees.
    """

    def __init__(self, a: torch.Tensor, coupling: float, generator: torch.Generator):
        super().__init__()
        self.register_buffer("a", a)
        self.coupling = coupling
        self.first_weight = nn.Parameter(torch.randn(2, 3, generator=generator, dtype=torch.float64))
        self.second_weight = nn.Parameter(torch.randn(3, 2, generator=generator, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.cat([self.first_weight.reshape(-1), self.second_weight.reshape(-1)])
        quartic = self.coupling * self.first_weight.square().sum() * self.second_weight.square().sum()
        q = 0.5 * w @ self.a @ w + quartic + 1.0
        other = torch.log(torch.expm1(q))
        return torch.stack([torch.zeros(len(x), dtype=q.dtype), other.expand(len(x))], dim=1)


@pytest.fixture
def quadratic():
    """``quadratic(coupled, coupling)``: (model, x, y); A positive definite, block diagonal unless ``coupled``."""

    def make(coupled: bool, coupling: float = 0.0):
        g = torch.Generator().manual_seed(0)
        m = torch.randn(12, 12, generator=g, dtype=torch.float64)
        a = m @ m.T / 12 + torch.eye(12, dtype=torch.float64)
        if not coupled:
            a[:6, 6:] = 0
            a[6:, :6] = 0
        x, y = torch.zeros(5, 1, dtype=torch.float64), torch.zeros(5, dtype=torch.long)
        return Quadratic(a, coupling, g), x, y

    return make


@pytest.fixture
def tiny_data():
    """``tiny_data(n, features, classes)``: float64 inputs and labels from a fixed generator."""

    def make(n: int, features: int, classes: int):
        g = torch.Generator().manual_seed(0)
        return torch.randn(n, features, generator=g, dtype=torch.float64), torch.randint(0, classes, (n,), generator=g)

    return make
