"""Tests for empirical.curvature.certify: a module is certified iff its residual block is zero.

Also its guards: the whole product vector is checked (not only the quadratic form), the product
budget is kept, and a saturated softmax (every residual weight 0) certifies nothing.
"""

from __future__ import annotations

import pytest
import torch

from empirical.curvature import certify, hessian_trace
from empirical.curvature.certify import certified_zero_modules
from empirical.curvature.space import ParameterSpace
from tests.curvature.problems import ALL, problem


def zero_blocks(p) -> set[str]:
    R = p.H - p.G
    space = ParameterSpace.build(p.model, p.names, None)
    out = set()
    for module, names in space.modules().items():
        b = space.slice_of(names)
        if R[b, b].abs().max() < 1e-12:
            out.add(module)
    return out


@pytest.mark.parametrize("name", ALL)
def test_certifies_exactly_the_zero_blocks(name):
    p = problem(name)
    space = ParameterSpace.build(p.model, p.names, None)
    cert = certified_zero_modules(p.model, p.x, p.y, space, batch_size=20, generator=torch.Generator().manual_seed(0))
    certified, used = cert.zero, cert.products
    assert used == len(space.modules()) and not cert.saturated
    assert certified == zero_blocks(p)
    expected = {"mlp": {"2"}, "cnn": {"5"}, "relu_cnn": {"0", "2", "5"}, "bn_cnn": {"0", "1", "4"}}[name]
    assert certified == expected


def test_does_not_certify_a_small_but_nonzero_block():
    p = problem("cnn")
    space = ParameterSpace.build(p.model, p.names, {n: 1e-4 * torch.ones_like(t) for n, t in p.model.named_parameters()})
    cert = certified_zero_modules(p.model, p.x, p.y, space, batch_size=1000, generator=torch.Generator())
    assert cert.zero == {"5"}  # the residual blocks of 0 and 2 are scaled by 1e-8, not zero


class _Rotation:
    """A fake residual operator S with vᵀSv = 0 for every v (S antisymmetric) but Sv ≠ 0."""

    def __init__(self, model, x, y, space, **_):
        n = space.dim
        self.S = torch.zeros(n, n, dtype=space.dtype)
        self.S[torch.arange(n - 1), torch.arange(1, n)] = 1.0
        self.S = self.S - self.S.T
        self.matvecs = 0

    def matmat(self, V):
        self.matvecs += V.shape[1]
        return self.S @ V

    def release(self):
        pass


def test_checks_the_whole_product_vector_not_only_the_quadratic_form(monkeypatch):
    p = problem("relu_cnn")
    space = ParameterSpace.build(p.model, p.names, None)
    monkeypatch.setattr(certify, "SplitHessian", _Rotation)
    cert = certified_zero_modules(p.model, p.x, p.y, space, batch_size=1000, generator=torch.Generator())
    assert cert.zero == set()  # every vᵀSv is 0 (up to rounding), but no block of S is


def test_stays_within_the_product_budget():
    p = problem("relu_cnn")
    space = ParameterSpace.build(p.model, p.names, None)
    cert = certified_zero_modules(p.model, p.x, p.y, space, batch_size=1000, generator=torch.Generator(),
                                  max_products=2)  # fmt: skip
    assert cert.products == 2 and cert.zero == {"0", "2"}
    # the trace API certifies every module when they fit; else the uncertified ones go to the closed-form
    # residual, exactly 0 here without products (no smooth activation)
    fits = hessian_trace(p.model, p.x, p.y, max_matvecs=3, gauss_newton="exact", generator=torch.Generator())
    assert fits.matvecs == 3 and fits.exact
    short = hessian_trace(p.model, p.x, p.y, min_matvecs=2, max_matvecs=2, generator=torch.Generator())
    assert short.matvecs == 0 and short.exact and short.value == pytest.approx(p.H.trace().item(), rel=1e-12)


def _saturated(name: str):
    """The problem's model with logits scaled by 1e6 and labels set to its predictions: softmax is one-hot."""
    p = problem(name)
    model = torch.nn.Sequential(*p.model, torch.nn.Linear(p.model[-1].out_features, p.model[-1].out_features))
    model = model.double().eval()
    with torch.no_grad():
        model[-1].weight.copy_(1e6 * torch.eye(model[-1].out_features))
        model[-1].bias.zero_()
        y = model(p.x).argmax(1)
    return model, p.x, y


@pytest.mark.parametrize("name", ["cnn", "relu_cnn"])
def test_refuses_to_certify_a_saturated_softmax(name):
    model, x, y = _saturated(name)
    names = [n for n, _ in model.named_parameters()]
    space = ParameterSpace.build(model, names, None)
    assert certify.saturated(model, x, y, batch_size=7)
    cert = certified_zero_modules(model, x, y, space, batch_size=1000, generator=torch.Generator())
    assert cert.saturated and cert.zero == set() and cert.products == 0
    est = hessian_trace(model, x, y, generator=torch.Generator())
    assert not est.exact and est.se == float("inf")  # unresolved, not "exactly" tr(G) = 0


def test_an_unsaturated_softmax_is_not_flagged():
    p = problem("relu_cnn")
    assert not certify.saturated(p.model, p.x, p.y, batch_size=7)
