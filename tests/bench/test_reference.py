"""Tests for empirical.bench.reference: the benchmark's ground truth is the exact diagonal."""

from __future__ import annotations

import copy
import sys

import pytest
import torch
from torch import nn

from empirical.bench import reference
from empirical.curvature import exact_hessian
from tests.curvature.problems import problem


def _flat(diag):
    return torch.cat([d.reshape(-1) for d in diag.values()])


@pytest.mark.parametrize("name", ["relu_cnn", "mlp", "cnn"])  # BackPACK's layers, and GELU taught to it
def test_backpack_diagonal_is_exact(name):
    p = problem(name)
    diag, how = reference.reference_diagonal(copy.deepcopy(p.model).float(), p.x.float(), p.y, chunk=20)
    assert how.startswith("exact: BackPACK")
    torch.testing.assert_close(_flat(diag), p.H.diagonal(), rtol=1e-5, atol=1e-8)  # float32 inputs
    diag, _ = reference.reference_diagonal(p.model, p.x, p.y, chunk=20)
    scale = p.scale()
    exact = (p.flat_scale(scale).square() * p.H.diagonal()).sum().item()
    assert reference.weighted_trace(diag, scale) == pytest.approx(exact, rel=1e-10)
    assert reference.weighted_trace(diag) == pytest.approx(p.H.trace().item(), rel=1e-10)


def test_falls_back_to_curvlinops_products_where_backpack_lacks_a_layer():
    p = problem("bn_cnn")  # eval-mode batch norm
    diag, how = reference.reference_diagonal(p.model, p.x, p.y, chunk=20)
    assert how.startswith("exact: Hessian diagonal by 66 unit-vector products (curvlinops)")
    assert "BackPACK: NotImplementedError" in how
    torch.testing.assert_close(_flat(diag), p.H.diagonal())
    assert list(diag) == p.names and all(diag[n].shape == t.shape for n, t in p.model.named_parameters())


def test_tanh_approximated_gelu_is_not_taken_for_the_exact_one():
    p = problem("cnn")
    model = copy.deepcopy(p.model)
    model[1] = nn.GELU(approximate="tanh")
    diag, how = reference.reference_diagonal(model, p.x, p.y, chunk=20)
    assert "BackPACK: NotImplementedError: GELU(approximate='tanh')" in how
    torch.testing.assert_close(_flat(diag), exact_hessian(model, p.x, p.y).diagonal())


def test_refuses_a_fallback_too_large(monkeypatch):
    monkeypatch.setattr(reference, "EXACT_DIM", 65)
    p = problem("bn_cnn")
    with pytest.raises(RuntimeError, match=r"no exact reference for 66 parameters \(> 65\)"):
        reference.reference_diagonal(p.model, p.x, p.y)


@pytest.mark.parametrize("name", ["cnn", "bn_cnn"])
def test_exact_reference_traces_carry_no_se(name):
    p = problem(name)
    scale = p.scale()
    ref = reference.reference_traces(p.model, p.x, p.y, scale, chunk=20)
    assert ref.method.startswith("exact: ") and ref.trace.se == 0 == ref.noise_trace.se and ref.trace.probes == 0
    assert ref.trace.value == pytest.approx(p.H.trace().item(), rel=1e-10)
    exact = (p.flat_scale(scale).square() * p.H.diagonal()).sum().item()
    assert ref.noise_trace.value == pytest.approx(exact, rel=1e-10)
    assert reference.reference_traces(p.model, p.x, p.y, chunk=20).noise_trace is None


def test_split_reference_is_within_4_se_of_the_dense_hessian():
    p = problem("cnn")  # GELU and tanh: H − G is large here
    scale = p.scale()
    ref = reference.reference_traces(p.model, p.x, p.y, scale, method="split", rel_se=0.05, max_probes=1000,
                                     generator=torch.Generator().manual_seed(1), chunk=20)  # fmt: skip
    assert ref.method.startswith("split: ") and f"by {ref.trace.probes} Hutchinson probes" in ref.method
    exact = (p.H.trace().item(), (p.flat_scale(scale).square() * p.H.diagonal()).sum().item())
    for estimate, truth in zip((ref.trace, ref.noise_trace), exact):
        assert 0 < estimate.se <= 0.05 * abs(estimate.value)  # stopped at its target, not the cap
        assert abs(estimate.value - truth) <= 4 * estimate.se
    g_only = (p.G.trace().item(), (p.flat_scale(scale).square() * p.G.diagonal()).sum().item())  # fails the check
    assert all(abs(g - truth) > 4 * e.se for g, truth, e in zip(g_only, exact, (ref.trace, ref.noise_trace)))


def test_split_reference_on_a_relu_network_estimates_a_zero_residual():
    p = problem("relu_cnn")  # tr(H − G) = 0, though H − G ≠ 0 off the diagonal (products of two layers)
    ref = reference.reference_traces(p.model, p.x, p.y, method="split", rel_se=0.05, max_probes=1000,
                                     generator=torch.Generator().manual_seed(1), chunk=20)  # fmt: skip
    assert 0 < ref.trace.se <= 0.05 * abs(ref.trace.value) and ref.trace.probes < 1000
    assert abs(ref.trace.value - p.H.trace().item()) <= 4 * ref.trace.se


def test_unknown_method():
    p = problem("mlp")
    with pytest.raises(ValueError, match="unknown reference method 'dense'; expected one of auto, split"):
        reference.reference_traces(p.model, p.x, p.y, method="dense")


@pytest.mark.parametrize("missing", ["backpack", "curvlinops"])
def test_missing_extra_says_how_to_install(missing, monkeypatch):
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import missing` fail
    with pytest.raises(reference.MissingExtra, match=rf"\({missing} is missing\): pip install -e '\.\[bench\]'"):
        reference.libraries()
