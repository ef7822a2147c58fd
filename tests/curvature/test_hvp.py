"""Tests for empirical.curvature.hvp: products against the dense Hessian and against curvlinops."""

from __future__ import annotations

import warnings

import pytest
import torch

from empirical.curvature.hvp import SplitHessian
from empirical.curvature.space import ParameterSpace
from tests.curvature.problems import ALL, SMOOTH, problem


def _op(p, kind, batch_size, scale=None, names=None):
    space = ParameterSpace.build(p.model, names or p.names, scale)
    return SplitHessian(p.model, p.x, p.y, space, kind=kind, batch_size=batch_size)


def _curvlinops():
    """curvlinops (the bench extra); its import warns (linear_operator decorates with torch.jit.script)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=DeprecationWarning)
        return pytest.importorskip("curvlinops", reason="curvlinops is the bench extra: pip install -e '.[bench]'")


def _probe(dim, k=3):
    return torch.randn(dim, k, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("batch_size", [1000, 20])  # one chunk (cached graph) and three chunks
def test_hessian_products_match_dense(name, batch_size):
    p = problem(name)
    op = _op(p, "hessian", batch_size)
    V = _probe(p.H.shape[0])
    torch.testing.assert_close(op.matmat(V), p.H @ V)
    torch.testing.assert_close(op.matmat(V), p.H @ V)  # again, through the cached graph
    assert op.matvecs == 6


@pytest.mark.parametrize("name", ALL)
def test_residual_products_are_hessian_minus_gauss_newton(name):
    p = problem(name)
    op = _op(p, "residual", 20)
    V = _probe(p.H.shape[0])
    torch.testing.assert_close(op.matmat(V), (p.H - p.G) @ V)


@pytest.mark.parametrize("name", SMOOTH)
def test_scaled_products_are_sigma_half_h_sigma_half(name):
    p = problem(name)
    scale = p.scale()
    op = _op(p, "hessian", 1000, scale=scale)
    s = p.flat_scale(scale)
    keep = s > 0
    S = torch.diag(s[keep])
    V = _probe(int(keep.sum()))
    torch.testing.assert_close(op.matmat(V), S @ p.H[keep][:, keep] @ S @ V)


def test_subset_of_parameters_is_the_hessian_block():
    p = problem("cnn")
    names = [p.names[0], p.names[4]]
    op = _op(p, "hessian", 1000, names=names)
    b = p.blocks()
    idx = torch.cat([torch.arange(b[n].start, b[n].stop) for n in names])
    V = _probe(len(idx))
    torch.testing.assert_close(op.matmat(V), p.H[idx][:, idx] @ V)


@pytest.mark.parametrize("name", ALL)
def test_agrees_with_curvlinops_hessian_operator(name):
    p = problem(name)
    params = list(p.model.parameters())
    reference = _curvlinops().HessianLinearOperator(p.model, torch.nn.CrossEntropyLoss(), params, [(p.x, p.y)])
    V = _probe(p.H.shape[0], k=2)
    torch.testing.assert_close(_op(p, "hessian", 16).matmat(V), reference @ V)


def test_scipy_view_multiplies_vectors_and_matrices():
    p = problem("mlp")
    A = _op(p, "hessian", 1000).to_scipy()
    v = _probe(p.H.shape[0], k=2).numpy()
    torch.testing.assert_close(torch.as_tensor(A @ v[:, 0]), p.H @ torch.as_tensor(v[:, 0]))
    torch.testing.assert_close(torch.as_tensor(A @ v), p.H @ torch.as_tensor(v))


def test_rejects_a_wrongly_shaped_block():
    p = problem("mlp")
    with pytest.raises(ValueError, match=r"\(114, k\).*\(3, 2\)"):
        _op(p, "hessian", 1000).matmat(torch.zeros(3, 2, dtype=torch.float64))
