"""Tests for empirical.curvature.checks: bad arguments are refused at the door, naming the value."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from empirical.curvature import hessian_trace, layer_traces, spectral_density, top_eigenvalues
from tests.curvature.problems import problem


def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


P = problem("mlp")
W = P.names[0]  # "0.weight", shape (10, 6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(model="net"), "model must be a torch.nn.Module. Got str"),
        (dict(x=P.x[:5]), "same number of samples. Got 5 and 48"),
        (dict(y=P.y.double()), "integer class indices. Got shape (48,), dtype torch.float64"),
        (dict(x=[1.0]), "x and y must be tensors. Got list"),
        (dict(params=["nope"]), "unknown parameter names ['nope']"),
        (dict(params=[W, W]), "names a parameter twice"),
        (dict(params="0.weight"), "list of parameter names. Got '0.weight'"),
        (dict(scale={W: torch.ones(3)}), "shape (10, 6). Got (3,)"),
        (dict(scale={W: -torch.ones(10, 6, dtype=torch.float64)}), "finite and >= 0"),
        (dict(scale={W: torch.ones(10, 6)}, params=["2.weight"]), "scale names '0.weight'"),
        (dict(scale={}), "non-empty dict"),
        (dict(rel_se=0), "rel_se must be a finite number > 0. Got 0"),
        (dict(rel_se=float("nan")), "Got nan"),
        (dict(abs_se=-1.0), "abs_se must be a finite number >= 0. Got -1.0"),
        (dict(max_matvecs=0), "max_matvecs must be an int >= 1. Got 0"),
        (dict(max_matvecs=10.5), "Got 10.5"),
        (dict(batch_size=-3), "batch_size must be an int >= 1. Got -3"),
        (dict(generator=None), "generator must be a torch.Generator"),
        (dict(method="lanczos"), "unknown method 'lanczos'; expected one of gn, hutchinson"),
        (dict(sketch=0), "sketch must be an int >= 1. Got 0"),
    ],
)
def test_hessian_trace_refuses(kwargs, message):
    args = dict(model=P.model, x=P.x, y=P.y, generator=gen())
    args.update(kwargs)
    model, x, y = args.pop("model"), args.pop("x"), args.pop("y")
    with pytest.raises(ValueError, match=re.escape(message)):
        hessian_trace(model, x, y, **args)


def test_frozen_parameter_named_explicitly():
    model = nn.Sequential(nn.Linear(6, 4)).double()
    model[0].bias.requires_grad_(False)
    with pytest.raises(ValueError, match=re.escape("['0.bias'] have requires_grad=False")):
        hessian_trace(model, P.x, P.y % 4, params=["0.bias"], generator=gen())
    # by default frozen parameters are simply left out
    est = hessian_trace(model, P.x, P.y % 4, method="exact", generator=gen())
    assert est.matvecs == 24


def test_layer_traces_refuses_whole_operator_methods():
    with pytest.raises(ValueError, match="unknown method 'hutchpp'; expected one of gn, hutchinson, exact"):
        layer_traces(P.model, P.x, P.y, method="hutchpp", generator=gen())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(k=0), "k must be an int >= 1. Got 0"),
        (dict(tol=-1.0), "tol must be a finite number >= 0. Got -1.0"),
        (dict(ncv=2, k=2), "k < ncv <= 114. Got 2"),
        (dict(generator=1), "generator must be a torch.Generator"),
    ],
)
def test_top_eigenvalues_refuses(kwargs, message):
    args = {"generator": gen(), **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        top_eigenvalues(P.model, P.x, P.y, **args)


def test_spectral_density_refuses():
    with pytest.raises(ValueError, match=re.escape("steps must be an int >= 1. Got 0")):
        spectral_density(P.model, P.x, P.y, steps=0, generator=gen())
    sd = spectral_density(P.model, P.x, P.y, steps=5, generator=gen())
    with pytest.raises(ValueError, match=re.escape("width must be a finite number > 0. Got 0.0")):
        sd.evaluate(torch.zeros(3), width=0.0)
