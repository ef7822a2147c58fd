"""Tests for empirical.bench.reference: the benchmark's ground truth is the exact diagonal."""

from __future__ import annotations

import copy
import sys

import pytest
import torch

from empirical.bench import reference
from tests.curvature.problems import problem


def _flat(diag):
    return torch.cat([d.reshape(-1) for d in diag.values()])


@pytest.mark.parametrize("name", ["relu_cnn", "mlp"])  # layers BackPACK's DiagHessian supports
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


@pytest.mark.parametrize("name, dim", [("cnn", 100), ("bn_cnn", 66)])  # GELU, eval-mode batch norm
def test_falls_back_to_curvlinops_products_where_backpack_lacks_a_layer(name, dim):
    p = problem(name)
    diag, how = reference.reference_diagonal(p.model, p.x, p.y, chunk=20)
    assert how.startswith(f"exact: Hessian diagonal by {dim} unit-vector products (curvlinops)")
    assert "BackPACK: NotImplementedError" in how
    torch.testing.assert_close(_flat(diag), p.H.diagonal())
    assert list(diag) == p.names and all(diag[n].shape == t.shape for n, t in p.model.named_parameters())


def test_refuses_a_fallback_too_large(monkeypatch):
    monkeypatch.setattr(reference, "EXACT_DIM", 99)
    p = problem("cnn")
    with pytest.raises(RuntimeError, match=r"no exact reference for 100 parameters \(> 99\)"):
        reference.reference_diagonal(p.model, p.x, p.y)


@pytest.mark.parametrize("missing", ["backpack", "curvlinops"])
def test_missing_extra_says_how_to_install(missing, monkeypatch):
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import missing` fail
    with pytest.raises(reference.MissingExtra, match=rf"\({missing} is missing\): pip install -e '\.\[bench\]'"):
        reference.libraries()
