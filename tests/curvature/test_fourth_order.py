"""Tests for empirical.curvature.fourth_order: nested-jvp derivatives against exact formulas and finite
differences, the Monte Carlo E_v[D⁴L[v⁴]] against its closed form, and the fourth-order prediction
on a quartic loss, where it is exact and the second-order one is not."""

from __future__ import annotations

import doctest
import math

import pytest
import torch

from empirical.curvature import fourth_order
from empirical.analysis.stats import compare
from empirical.curvature.fourth_order import (
    directional_derivatives,
    fourth_moment,
    line_derivatives,
    split_derivatives,
    split_fourth_moment,
)
from tests.curvature.problems import problem
from theory import predict

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_docstring_examples():
    assert doctest.testmod(fourth_order).failed == 0


def test_line_derivatives_of_a_polynomial_are_exact():
    coef = [3.0, 2.0, -1.0, 5.0 / 6.0, 7.0]  # f(t) = Σ c_k t^k, so f⁽ᵏ⁾(0) = k!·c_k
    f = lambda t: sum(c * t**k for k, c in enumerate(coef))  # noqa: E731
    got = line_derivatives(f, torch.tensor(0.0, dtype=F64), 4)
    want = [math.factorial(k) * c for k, c in enumerate(coef)]
    assert [float(d) for d in got] == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert float(line_derivatives(f, torch.tensor(0.0, dtype=F64), 4)[4]) != pytest.approx(0.0)


def test_directional_derivatives_match_the_exact_formula():
    # L(w) = exp(aᵀw)  ⇒  D^k L(w)[v, …, v] = (aᵀv)^k exp(aᵀw)
    g = gen(1)
    a, w, v = (torch.randn(5, generator=g, dtype=F64) for _ in range(3))
    got = directional_derivatives(lambda p: torch.exp(a @ p["w"]), {"w": w}, {"w": v})
    want = [float((a @ v) ** k * torch.exp(a @ w)) for k in range(5)]
    assert got.tolist() == pytest.approx(want, rel=1e-12)


def test_parameters_outside_the_direction_stay_fixed():
    g = gen(2)
    w, b, v = (torch.randn(3, generator=g, dtype=F64) for _ in range(3))
    loss = lambda p: (p["w"] ** 4).sum() + (p["b"] ** 4).sum()  # noqa: E731
    got = directional_derivatives(loss, {"w": w, "b": b}, {"w": v})
    assert float(got[4]) == pytest.approx(24 * float((v**4).sum()))
    assert float(got[0]) == pytest.approx(float(loss({"w": w, "b": b})))


def test_split_derivatives_match_finite_differences_and_the_exact_hessian():
    p = problem("mlp")  # float64 tanh MLP, mean cross-entropy over 48 samples
    g = gen(3)
    v = {n: 0.3 * torch.randn(t.shape, generator=g, dtype=F64) for n, t in p.model.named_parameters()}
    got = split_derivatives(p.model, p.x, p.y, v, batch_size=1000)
    params = {n: t.detach().clone() for n, t in p.model.named_parameters()}

    def f(t: float) -> float:
        with torch.no_grad():
            out = torch.func.functional_call(p.model, {n: params[n] + t * v[n] for n in params}, (p.x,))
            return float(torch.nn.functional.cross_entropy(out, p.y))

    h = 2e-2  # 5-point stencils: errors O(h²); float64 rounding ~1e-16/h⁴ stays far below
    f_ = {k: f(k * h) for k in (-2, -1, 0, 1, 2)}
    d4 = (f_[-2] - 4 * f_[-1] + 6 * f_[0] - 4 * f_[1] + f_[2]) / h**4
    d2 = (-f_[-2] + 16 * f_[-1] - 30 * f_[0] + 16 * f_[1] - f_[2]) / (12 * h**2)
    assert float(got[0]) == pytest.approx(f_[0], rel=1e-12)
    assert float(got[2]) == pytest.approx(d2, rel=1e-5)
    assert float(got[4]) == pytest.approx(d4, rel=2e-3)
    flat = torch.cat([v[n].reshape(-1) for n in params])
    assert float(got[2]) == pytest.approx(float(flat @ p.H @ flat), rel=1e-10)
    # chunking the split changes nothing but rounding
    assert split_derivatives(p.model, p.x, p.y, v, batch_size=7).tolist() == pytest.approx(got.tolist(), rel=1e-10)


def test_fourth_moment_of_a_quartic_matches_the_closed_form():
    # L(w) = Σ c_i w_i⁴: D⁴L[v⁴] = 24 Σ c_i v_i⁴ at any w, so E_v = 24·3 Σ c_i σ_i⁴ (E z⁴ = 3)
    g = gen(4)
    c, w = torch.rand(48, generator=g, dtype=F64) + 0.5, torch.randn(48, generator=g, dtype=F64)
    s = 0.5 + 0.2 * torch.rand(48, generator=g, dtype=F64)
    est = fourth_moment(lambda p: (c * p["w"] ** 4).sum(), {"w": w}, {"w": s}, draws=50, generator=gen(5))
    exact = 72 * float((c * s**4).sum())
    assert est.draws == 50 and est.subset == 0 and 0 < est.se < 0.15 * exact
    assert abs(est.value - exact) <= 4 * est.se
    assert abs(est.value - exact / 3) > 4 * est.se  # E z⁴ = 1 (a Rademacher-like slip) would be caught
    assert est.second == pytest.approx(12 * float((c * w**2 * s**2).sum()), rel=0.25)  # tr(HΣ₁)


def _antithetic_increase(loss, w: torch.Tensor, s: torch.Tensor, eta: float, pairs: int, seed: int):
    """Measured E[ΔL] at w under ε ~ N(0, η² diag(s²)) from antithetic pairs, as empirical.experiment.evaluate does."""
    z = torch.randn(pairs, len(w), generator=gen(seed), dtype=F64)
    d = (loss(w + eta * s * z) + loss(w - eta * s * z)) / 2 - loss(w)
    return float(d.mean()), float(d.std() / math.sqrt(pairs))


def test_quartic_fourth_order_prediction_matches_and_second_order_does_not():
    # L(w) = Σ a_i/2 w_i² + c_i w_i⁴: E[ΔL] = η² Σ (a_i/2 + 6c_i w_i²) σ_i² + 3η⁴ Σ c_i σ_i⁴ exactly
    g = gen(6)
    d = 64
    a, c = torch.rand(d, generator=g, dtype=F64) + 0.5, torch.rand(d, generator=g, dtype=F64) + 0.5
    w, s = 0.2 * torch.randn(d, generator=g, dtype=F64), torch.rand(d, generator=g, dtype=F64) + 0.5
    loss = lambda u: (a / 2 * u**2 + c * u**4).sum(-1)  # noqa: E731
    eta = 0.4
    measured, measured_se = _antithetic_increase(loss, w, s, eta, pairs=20000, seed=7)
    exact = float(eta**2 * ((a / 2 + 6 * c * w**2) * s**2).sum() + 3 * eta**4 * (c * s**4).sum())
    assert abs(measured - exact) <= 4 * measured_se  # the measurement itself is right

    noise_trace = float(((a + 12 * c * w**2) * s**2).sum())  # tr(HΣ₁), exact here
    m4 = fourth_moment(lambda p: loss(p["w"]), {"w": w}, {"w": s}, draws=50, generator=gen(8))
    second = float(predict.delta_loss_second_order(eta, noise_trace))
    fourth = float(predict.delta_loss_fourth_order(eta, noise_trace, m4.value))
    fourth_se = float(predict.delta_loss_fourth_order(eta, 0.0, m4.se))
    r2 = compare(measured, measured_se, second, 0.0)
    r4 = compare(measured, measured_se, fourth, fourth_se)
    assert r4["ci_contains_1"] and r4["within_10pct"]
    assert not r2["ci_contains_1"] and not r2["within_10pct"] and r2["ratio"] > 1.3


def test_split_fourth_moment_estimates_the_whole_split_and_tr_hsigma():
    p = problem("mlp")
    scale = {n: 3 * s for n, s in p.scale().items()}  # far from 1, so σ and σ² directions differ clearly
    full = split_fourth_moment(p.model, p.x, p.y, scale, draws=16, generator=gen(9))
    sub = split_fourth_moment(p.model, p.x, p.y, scale, draws=16, subset=12, batch_size=6, generator=gen(10))
    assert full.subset == 48 and sub.subset == 12 and full.draws == sub.draws == 16
    assert abs(full.value - sub.value) <= 4 * math.hypot(full.se, sub.se)
    exact_trace = float((p.flat_scale(scale) ** 2 * p.H.diagonal()).sum())  # tr(HΣ₁)
    assert abs(full.second - exact_trace) <= 4 * full.second_se
    assert abs(sub.second - exact_trace) <= 4 * sub.second_se
    once, again = (split_fourth_moment(p.model, p.x, p.y, scale, draws=2, subset=12, generator=gen(11)) for _ in "12")
    assert (again.value, again.se) == (once.value, once.se)  # the generator decides every draw
    assert not p.model.training


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"draws": 1}, "draws must be an int >= 2"),
        ({"draws": 2.0}, "draws must be an int >= 2"),
        ({"draws": 2, "subset": 0}, "subset must be an int >= 1"),
        ({"draws": 2, "generator": 0}, "generator must be a torch.Generator"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    p = problem("mlp")
    kwargs = {"generator": gen(), **kwargs}
    with pytest.raises(ValueError, match=match):
        split_fourth_moment(p.model, p.x, p.y, p.scale(), **kwargs)


def test_bad_scale_and_direction_are_named():
    p = problem("mlp")
    with pytest.raises(ValueError, match="scale is required"):
        split_fourth_moment(p.model, p.x, p.y, None, draws=2, generator=gen())
    with pytest.raises(ValueError, match="must be a tensor of the parameter's shape"):
        split_fourth_moment(p.model, p.x, p.y, {"0.weight": torch.ones(2, dtype=F64)}, draws=2, generator=gen())
    with pytest.raises(ValueError, match="not among the parameters"):
        directional_derivatives(lambda q: q["w"].sum(), {"w": torch.ones(2)}, {"v": torch.ones(2)})
    with pytest.raises(ValueError, match="order must be an int >= 0"):
        line_derivatives(lambda t: t, torch.tensor(0.0), -1)
