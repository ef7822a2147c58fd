"""Tests for empirical.curvature.certify: a module is certified iff its residual block is zero."""

from __future__ import annotations

import pytest
import torch

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
    certified, used = certified_zero_modules(
        p.model, p.x, p.y, space, batch_size=20, generator=torch.Generator().manual_seed(0)
    )
    assert used == len(space.modules())
    assert certified == zero_blocks(p)
    expected = {"mlp": {"2"}, "cnn": {"5"}, "relu_cnn": {"0", "2", "5"}, "bn_cnn": {"0", "1", "4"}}[name]
    assert certified == expected


def test_does_not_certify_a_small_but_nonzero_block():
    p = problem("cnn")
    space = ParameterSpace.build(p.model, p.names, {n: 1e-4 * torch.ones_like(t) for n, t in p.model.named_parameters()})
    certified, _ = certified_zero_modules(p.model, p.x, p.y, space, batch_size=1000, generator=torch.Generator())
    assert certified == {"5"}  # the residual blocks of 0 and 2 are scaled by 1e-8, not zero
