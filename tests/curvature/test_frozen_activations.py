"""Tests for empirical.curvature.frozen_activations: fixed σ', σ'' nodes give the exact first and second derivatives."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirical.curvature import exact_hessian, frozen_activations
from empirical.curvature.frozen_activations import SMOOTH, frozen_derivatives, slopes
from empirical.curvature.hvp import SplitHessian
from empirical.curvature.space import ParameterSpace


def _model(activation: nn.Module) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), activation, nn.Linear(6, 5), activation, nn.Linear(5, 3)).double().eval()
    for p in model.parameters():  # far from a minimum, activations in their curved range
        p.data.mul_(2.0)
    x = torch.randn(30, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 3, (30,), generator=torch.Generator().manual_seed(2))
    return model, x, y


def _products(model: nn.Module, x: torch.Tensor, y: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    space = ParameterSpace.build(model, [n for n, _ in model.named_parameters()], None)
    return SplitHessian(model, x, y, space, kind="hessian", batch_size=1000).matmat(V)


@pytest.mark.parametrize("kind", SMOOTH, ids=lambda k: k.__name__)
def test_hessian_products_through_frozen_activations_match_the_dense_hessian(kind):
    model, x, y = _model(kind())
    H = exact_hessian(model, x, y)
    V = torch.randn(H.shape[0], 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(_products(model, x, y, V), H @ V)


def test_products_use_the_stored_second_derivative(monkeypatch):
    model, x, y = _model(nn.GELU())
    H = exact_hessian(model, x, y)
    V = torch.randn(H.shape[0], 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    real = frozen_activations.slopes
    monkeypatch.setattr(frozen_activations, "slopes", lambda m, a: (real(m, a)[0], 2 * real(m, a)[1]))
    assert not torch.allclose(_products(model, x, y, V), H @ V)


def test_first_order_gradients_are_unchanged():
    model, x, y = _model(nn.Tanh())
    params = list(model.parameters())
    plain = torch.autograd.grad(nn.functional.cross_entropy(model(x), y), params)
    with frozen_derivatives(model):
        frozen = torch.autograd.grad(nn.functional.cross_entropy(model(x), y), params)
    for a, b in zip(plain, frozen):
        torch.testing.assert_close(b, a)


def test_slopes_of_tanh_are_its_closed_form_derivatives():
    a = torch.linspace(-3, 3, 13, dtype=torch.float64)
    first, second = slopes(nn.Tanh(), a)
    t = torch.tanh(a)
    torch.testing.assert_close(first, 1 - t**2)
    torch.testing.assert_close(second, -2 * t * (1 - t**2))


def test_only_inside_the_context_are_activations_frozen():
    model, x, _ = _model(nn.GELU())
    a = x.clone().requires_grad_(True)
    with frozen_derivatives(model):
        inside = model[1](a)
    outside = model[1](a)
    assert type(inside.grad_fn).__name__ == "_ActivationBackward"
    assert type(outside.grad_fn).__name__ == "GeluBackward0"
    torch.testing.assert_close(outside, inside)
