"""Tests for empirical.curvature.variance_terms: gᵀΣ₁g and tr((HΣ₁)²) against exact values on tiny models, and
the variance prediction against a Monte Carlo spread on a quadratic, where it is exact."""

from __future__ import annotations

import doctest
import math

import pytest
import torch

from empirical.curvature import variance_terms
from empirical.analysis.stats import compare
from empirical.curvature.variance_terms import frobenius_sq, grad_cov_grad, hsigma_sq_trace
from tests.curvature.problems import problem
from theory import predict

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_docstring_examples():
    assert doctest.testmod(variance_terms).failed == 0


def test_frobenius_estimate_is_unbiased_with_a_calibrated_error():
    g = gen(1)
    B = torch.randn(30, 30, generator=g, dtype=F64)
    A = B + B.T
    exact = float(A.square().sum())
    inside = 0
    for seed in range(20):
        est = frobenius_sq(lambda V: A @ V, 30, probes=20, generator=gen(seed), device=A.device, dtype=A.dtype)
        assert est.probes == 20 and est.se > 0
        inside += abs(est.value - exact) <= 1.96 * est.se
    assert 15 <= inside <= 20  # ~95% coverage of the t-corrected interval; a wrong se would miss
    # the estimate is of ‖A‖_F², not of tr(A)²/dim or tr(A): those differ by far more than the error here
    assert abs(est.value - float(A.trace()) ** 2 / 30) > 10 * est.se


@pytest.mark.parametrize("name", ["mlp", "relu_cnn"])
def test_grad_cov_grad_is_exact(name):
    p = problem(name)
    scale = p.scale()
    params = dict(p.model.named_parameters())
    loss = torch.nn.functional.cross_entropy(p.model(p.x), p.y)
    grads = torch.autograd.grad(loss, list(params.values()))
    exact = sum(float((g * scale[n]).square().sum()) for n, g in zip(params, grads) if n in scale)
    assert grad_cov_grad(p.model, p.x, p.y, scale, batch_size=7) == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("name", ["mlp", "relu_cnn"])
def test_hsigma_sq_trace_within_its_error(name):
    p = problem(name)
    scale = p.scale()
    s = p.flat_scale(scale)
    exact = float((s[:, None] * p.H * s[None, :]).square().sum())  # ‖Σ₁^½ H Σ₁^½‖_F²
    est = hsigma_sq_trace(p.model, p.x, p.y, scale, probes=40, batch_size=20, generator=gen(2))
    assert est.probes == 40 and 0 < est.se < 0.3 * exact
    assert abs(est.value - exact) <= 4 * est.se
    for wrong in (float(p.H.square().sum()), float((s**2 * p.H.diagonal()).sum()) ** 2):  # no Σ₁; tr(HΣ₁)²
        assert abs(est.value - wrong) > 4 * est.se


def test_quadratic_variance_prediction_matches_the_measured_spread():
    # L(w) = gᵀw + ½ wᵀAw: ΔL = gᵀε + ½ εᵀAε, Var = η² gᵀΣ₁g + ½ η⁴ tr((AΣ₁)²) exactly
    g_ = gen(3)
    d = 12
    B = torch.randn(d, d, generator=g_, dtype=F64)
    A, g = B @ B.T / d, 0.3 * torch.randn(d, generator=g_, dtype=F64)
    s = 0.5 + torch.rand(d, generator=g_, dtype=F64)
    S = torch.diag(s)
    for eta in (0.05, 1.0):  # gradient-dominated and curvature-dominated
        z = torch.randn(40000, d, generator=gen(4), dtype=F64)
        e = eta * z * s
        dl = e @ g + 0.5 * ((e @ A) * e).sum(1)
        var = float(predict.delta_loss_variance(eta, float(g @ S @ S @ g), float((S @ A @ S).square().sum())))
        measured = float(dl.std())
        measured_se = measured / math.sqrt(2 * (len(dl) - 1))
        r = compare(measured, measured_se, math.sqrt(var), 0.0)
        assert abs(r["ratio"] - 1) <= 4 * r["ratio_se"], (eta, r)
        wrong = math.sqrt(float(predict.delta_loss_variance(eta, float(g @ S @ S @ g), 0.0)))
        if eta == 1.0:  # dropping the curvature term would be caught
            assert not compare(measured, measured_se, wrong, 0.0)["ci_contains_1"]


def test_bad_arguments_are_named():
    p = problem("mlp")
    with pytest.raises(ValueError, match="probes must be an int >= 2"):
        hsigma_sq_trace(p.model, p.x, p.y, p.scale(), probes=1, generator=gen())
    with pytest.raises(ValueError, match="scale is required"):
        grad_cov_grad(p.model, p.x, p.y, None)
    with pytest.raises(ValueError, match="generator must be a torch.Generator"):
        hsigma_sq_trace(p.model, p.x, p.y, p.scale(), probes=4, generator=None)
    with pytest.raises(ValueError, match=r"matmat must map \(3, k\)"):
        frobenius_sq(lambda V: V[:2], 3, probes=2, generator=gen(), device=torch.device("cpu"), dtype=F64)
