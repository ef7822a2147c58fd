"""Tests for empirical.curvature.exact: the dense ground truth the other tests rely on."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirical.curvature import exact_gauss_newton, exact_hessian
from tests.curvature.problems import ALL, SMOOTH, problem


def test_exact_hessian_of_softmax_regression_matches_closed_form():
    # linear model z = Wx (no bias): H = (1/N) Σ_n (diag p − ppᵀ) ⊗ x xᵀ, and G = H
    torch.manual_seed(0)
    model = nn.Linear(3, 2, bias=False).double()
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1])
    p = torch.softmax(model(x), 1).detach()
    H = sum(torch.kron(torch.diag(pn) - torch.outer(pn, pn), torch.outer(xn, xn)) for pn, xn in zip(p, x)) / 5
    torch.testing.assert_close(exact_hessian(model, x, y), H)
    torch.testing.assert_close(exact_gauss_newton(model, x, y), H)


@pytest.mark.parametrize("name", ALL)
def test_gauss_newton_is_symmetric_psd(name):
    G = problem(name).G
    torch.testing.assert_close(G, G.T)
    assert torch.linalg.eigvalsh(G).min() > -1e-10


@pytest.mark.parametrize("name", SMOOTH)
def test_smooth_problems_have_a_large_residual(name):
    # the estimator tests are only sharp if confusing G with H changes the trace a lot
    p = problem(name)
    assert abs(p.H.trace() - p.G.trace()) > 0.3 * abs(p.H.trace())


def test_exact_hessian_respects_params_order():
    p = problem("mlp")
    names = p.names[::-1]
    H = exact_hessian(p.model, p.x, p.y, params=names)
    idx = torch.cat([torch.arange(p.blocks()[n].start, p.blocks()[n].stop) for n in names])
    torch.testing.assert_close(H, p.H[idx][:, idx])
