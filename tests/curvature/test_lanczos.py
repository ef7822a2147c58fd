"""Tests for empirical.curvature.lanczos: top eigenvalues with residuals, spectral density."""

from __future__ import annotations

import pytest
import torch

from empirical.curvature import spectral_density, top_eigenvalues
from tests.curvature.problems import ALL, problem


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ALL)
def test_top_eigenvalues_within_their_residuals(name):
    p = problem(name)
    exact = torch.linalg.eigvalsh(p.H).flip(0)[:3]
    est = top_eigenvalues(p.model, p.x, p.y, k=3, tol=1e-8, batch_size=20, generator=gen())
    assert est.values == tuple(sorted(est.values, reverse=True))
    for value, residual, truth in zip(est.values, est.residuals, exact.tolist()):
        assert residual < 1e-6
        assert abs(value - truth) <= residual + 1e-9
    assert est.matvecs > 3 and est.seconds > 0


def test_residual_check_exposes_an_eigenpair_of_the_wrong_operator():
    # Ritz pairs of G (the wrong operator) have large residuals under H, and miss λ_max(H)
    p = problem("mlp")
    lam_g, vec_g = torch.linalg.eigh(p.G)
    v, lam = vec_g[:, -1], lam_g[-1].item()
    residual = (p.H @ v - lam * v).norm().item()
    est = top_eigenvalues(p.model, p.x, p.y, k=1, tol=1e-8, generator=gen())
    assert residual > 1e3 * est.residuals[0]
    assert abs(lam - est.values[0]) > est.residuals[0] + 1e-9


def test_scaled_top_eigenvalue():
    p = problem("cnn")
    scale = p.scale()
    s = p.flat_scale(scale)
    keep = s > 0
    A = torch.diag(s[keep]) @ p.H[keep][:, keep] @ torch.diag(s[keep])
    est = top_eigenvalues(p.model, p.x, p.y, k=1, tol=1e-8, scale=scale, generator=gen())
    assert abs(est.values[0] - torch.linalg.eigvalsh(A)[-1].item()) <= est.residuals[0] + 1e-9


def test_same_generator_same_eigenvalues():
    p = problem("cnn")
    a, b = (top_eigenvalues(p.model, p.x, p.y, k=2, generator=gen(4)) for _ in range(2))
    assert a.values == b.values and a.matvecs == b.matvecs


def test_full_lanczos_quadrature_recovers_the_spectrum():
    # with as many steps as dimensions the nodes are H's eigenvalues and vᵀHv/vᵀv is reproduced
    p = problem("cnn")
    dim = p.H.shape[0]
    sd = spectral_density(p.model, p.x, p.y, steps=dim, probes=2, generator=gen())
    assert sd.matvecs <= 2 * dim
    torch.testing.assert_close(sd.weights.sum(1), torch.ones(2, dtype=torch.float64))
    eig = torch.linalg.eigvalsh(p.H)
    for nodes, weights in zip(sd.nodes, sd.weights):
        used = nodes[weights > 1e-12]
        # every node with weight sits on an eigenvalue
        assert torch.cdist(used.view(-1, 1), eig.view(-1, 1)).min(1).values.max() < 1e-6
    mean = (sd.nodes * sd.weights).sum(1).mean().item()  # ≈ tr(H)/dim, up to probe noise
    assert abs(mean - p.H.trace().item() / dim) < 0.5 * abs(p.H.diagonal()).mean().item()


def test_density_integrates_to_one():
    p = problem("mlp")
    sd = spectral_density(p.model, p.x, p.y, steps=30, probes=3, generator=gen())
    assert sd.nodes.shape == (3, 30) and sd.matvecs == 90
    lo, hi = sd.nodes.min().item() - 1, sd.nodes.max().item() + 1
    grid = torch.linspace(lo, hi, 4001, dtype=torch.float64)
    density = sd.evaluate(grid, width=0.05)
    assert torch.trapezoid(density, grid).item() == pytest.approx(1.0, abs=1e-3)


def test_rejects_k_not_below_the_dimension():
    p = problem("mlp")
    with pytest.raises(ValueError, match="k=114"):
        top_eigenvalues(p.model, p.x, p.y, k=114, generator=gen())
