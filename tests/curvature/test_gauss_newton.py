"""Tests for empirical.curvature.gauss_newton: exact diag(G) against the dense Gauss–Newton matrix."""

from __future__ import annotations

import pytest
import torch

from empirical.curvature import gauss_newton
from empirical.curvature.gauss_newton import gauss_newton_diagonal
from tests.curvature.problems import ALL, problem


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("batch_size", [1000, 7])
def test_diagonal_matches_dense(name, batch_size):
    p = problem(name)
    diag = gauss_newton_diagonal(p.model, p.x, p.y, p.names, batch_size=batch_size)
    assert list(diag) == p.names
    flat = torch.cat([d.reshape(-1) for d in diag.values()])
    torch.testing.assert_close(flat, p.G.diagonal())


def test_diagonal_of_a_subset_and_small_jacobian_chunks(monkeypatch):
    monkeypatch.setattr(gauss_newton, "JACOBIAN_ELEMENTS", 1)  # one sample per chunk
    p = problem("cnn")
    names = [p.names[2], p.names[5]]
    diag = gauss_newton_diagonal(p.model, p.x, p.y, names, batch_size=1000)
    b = p.blocks()
    for n in names:
        torch.testing.assert_close(diag[n].reshape(-1), p.G.diagonal()[b[n]])


def test_piecewise_linear_network_has_hessian_diagonal_equal_to_gauss_newton():
    # the claim in gauss_newton's docstring: for ReLU networks tr((H − G)Σ) = 0 for any diagonal Σ
    p = problem("relu_cnn")
    torch.testing.assert_close(p.H.diagonal(), p.G.diagonal())
    assert (p.H - p.G).abs().max() > 1e-3  # while H ≠ G off the diagonal blocks
