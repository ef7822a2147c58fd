"""Tests for empirical.curvature.kinks_chain: exact τ² against a dense Jacobian (float64) on Conv1d and
Linear chains of three layers (strides, padding, dilation, no bias, uneven Σ₁, noise on part of the
layers), and None where a chain is deeper or broken."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirical.curvature.kinks_chain import chain_variances
from empirical.curvature.kinks_units import clean_pass
from tests.curvature.dense_variances import dense_unit_variances

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def build(kind: str, act: type[nn.Module]) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    g = gen(0)
    if kind == "cnn":
        layers = [nn.Conv1d(2, 3, 5, stride=2, padding=1), act(), nn.Conv1d(3, 4, 3, stride=2, padding=1), act(),
                  nn.Conv1d(4, 3, 3, padding=2, dilation=2, bias=False), act(), nn.Flatten(), nn.Linear(9, 3)]  # fmt: skip
        x = torch.randn(6, 2, 13, generator=g)
    elif kind == "mlp":
        layers = [nn.Linear(4, 6), act(), nn.Linear(6, 5, bias=False), act(), nn.Linear(5, 4), act(), nn.Linear(4, 3)]
        x = torch.randn(6, 4, generator=g)
    elif kind == "deep":  # four hidden layers: the last site's chain is too deep
        layers = [nn.Linear(4, 5), act(), nn.Linear(5, 5), act(), nn.Linear(5, 5), act(), nn.Linear(5, 5), act(),
                  nn.Linear(5, 3)]  # fmt: skip
        x = torch.randn(6, 4, generator=g)
    else:  # "flatten": a Linear fed by a Flatten, not by an activation
        layers = [nn.Conv1d(1, 2, 3), act(), nn.Flatten(), nn.Linear(8, 4), act(), nn.Linear(4, 3)]
        x = torch.randn(6, 1, 6, generator=g)
    model = nn.Sequential(*layers).double().eval()
    return model, x.double(), torch.randint(0, 3, (6,), generator=g)


def scales(model: nn.Module, which: str) -> dict[str, torch.Tensor]:
    g = gen(5)
    params = dict(model.named_parameters())
    if which == "weights":  # uneven, weights only
        return {n: 0.3 + torch.rand(p.shape, generator=g, dtype=F64) for n, p in params.items() if "weight" in n}
    if which == "all":
        return {n: 0.3 + torch.rand(p.shape, generator=g, dtype=F64) for n, p in params.items()}
    first = next(iter(params))  # "middle": noise everywhere but the first layer
    return {n: torch.full_like(p, 0.7) for n, p in params.items() if not n.startswith(first.split(".")[0] + ".")}


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
@pytest.mark.parametrize("act", [nn.ReLU, nn.GELU, nn.Tanh])
@pytest.mark.parametrize("which", ["weights", "all", "middle"])
def test_chain_variances_match_a_dense_jacobian(kind, act, which):
    model, x, y = build(kind, act)
    modules = {m: () for m in model if isinstance(m, act)}
    scale = scales(model, which)
    sites = clean_pass(model, x, y, len(y), modules)
    assert [s.parent for s in sites] == [None, 0, 1]
    others = [{n: s for n, s in scale.items() if n.startswith(first)} for first in ("0.", "2.")]  # one layer each
    multiple = {n: 2.5 * s for n, s in scale.items()}  # shares the computation of every layer with `scale`
    uneven = scales(model, "all" if which == "weights" else "weights")  # a second first-layer pattern
    several = [scale, *others, multiple, uneven]
    exact = chain_variances(sites, several)  # several scales in one call
    assert exact is not None and len(exact) == len(several)
    for taus, one in zip(exact, several):
        dense = dense_unit_variances(model, x, sites, one) if one else [(torch.zeros_like(t), None) for t in taus]
        for got, (want, _) in zip(taus, dense):
            assert got.shape == want.shape
            assert torch.allclose(got, want, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kind", ["deep", "flatten"])
def test_deeper_or_broken_chains_are_left_to_probes(kind):
    model, x, y = build(kind, nn.GELU)
    modules = {m: () for m in model if isinstance(m, nn.GELU)}
    sites = clean_pass(model, x, y, len(y), modules)
    assert chain_variances(sites, [scales(model, "all")]) is None
