"""Tests for empirical.curvature.trace: every method against the exact trace, within its own error.

"Within its error" is |estimate − exact| ≤ 4·se + 1e-9 (se = 0 when the method went exact). Seeds
are fixed, so each check is deterministic; the calibration tests below check that se is the right
size, and the wrong-operator tests check that these comparisons can fail.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from empirical.curvature import hessian_trace, layer_traces
from empirical.curvature.certify import Certificate
from tests.curvature.problems import ALL, PIECEWISE_LINEAR, SMOOTH, problem

STOCHASTIC = ("gn", "hutchinson", "hutchpp", "xtrace")


class Wrapped(nn.Module):
    """A model behind a custom forward, which the closed-form residual refuses (it could hide any call)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.train(inner.training)  # else restoring the wrapper's mode would put the shared problem in train mode

    def forward(self, x):
        return self.inner(x)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def within(estimate, exact: float) -> bool:
    return abs(estimate.value - exact) <= 4 * estimate.se + 1e-9


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("method", STOCHASTIC)
def test_trace_within_its_error(name, method):
    p = problem(name)
    est = hessian_trace(p.model, p.x, p.y, method=method, rel_se=0.02, max_matvecs=90, batch_size=20, generator=gen())
    assert est.method == method and 0 < est.se < 0.5 * abs(est.value)
    assert est.matvecs <= 90 and est.seconds > 0
    assert within(est, p.H.trace().item())


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("method", STOCHASTIC)
def test_noise_weighted_trace_within_its_error(name, method):
    p = problem(name)
    scale = p.scale()
    exact = (p.flat_scale(scale).square() * p.H.diagonal()).sum().item()
    est = hessian_trace(p.model, p.x, p.y, scale=scale, method=method, max_matvecs=60, generator=gen(1))
    assert est.se > 0 and within(est, exact)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("method", ["gn", "hutchinson"])
def test_layer_traces_within_their_errors(name, method):
    p = problem(name)
    traces = layer_traces(p.model, p.x, p.y, method=method, max_matvecs=80, generator=gen(2))
    assert list(traces) == p.names
    for n, b in p.blocks().items():
        assert within(traces[n], p.H.diagonal()[b].sum().item()), n
    assert len({t.matvecs for t in traces.values()}) == 1  # one set of probes for all blocks


def test_layer_traces_with_scale_cover_the_scaled_parameters():
    p = problem("cnn")
    scale = p.scale()
    weighted = p.flat_scale(scale).square() * p.H.diagonal()
    traces = layer_traces(p.model, p.x, p.y, scale=scale, max_matvecs=60, generator=gen(3))
    assert list(traces) == list(scale)
    for n in scale:
        assert within(traces[n], weighted[p.blocks()[n]].sum().item()), n


@pytest.mark.parametrize("method", ["gn", "hutchinson", "exact"])
def test_exact_when_the_budget_covers_the_dimension(method):
    p = problem("mlp")  # 114 parameters
    est = hessian_trace(p.model, p.x, p.y, method=method, rel_se=1e-6, max_matvecs=400, generator=gen())
    assert est.exact and est.se < 1e-12 * abs(est.value)
    assert est.value == pytest.approx(p.H.trace().item(), rel=1e-10)


@pytest.mark.parametrize("name", PIECEWISE_LINEAR)
def test_gauss_newton_is_certified_exact_for_relu_networks(name):
    # every residual block vanishes in a piecewise-linear net: one product per module shows it
    p = problem(name)
    est = hessian_trace(p.model, p.x, p.y, method="gn", generator=gen())
    assert est.exact and est.matvecs == 3  # three modules with parameters
    assert est.value == pytest.approx(p.H.trace().item(), rel=1e-12)
    traces = layer_traces(p.model, p.x, p.y, scale=p.scale(), generator=gen())
    weighted = p.flat_scale(p.scale()).square() * p.H.diagonal()
    for n, t in traces.items():
        assert t.exact and t.value == pytest.approx(weighted[p.blocks()[n]].sum().item(), rel=1e-12)


def test_only_the_last_layer_is_certified_in_a_smooth_network():
    # logits are affine in the last linear layer only: 1 of 3 modules certified, the rest estimated
    p = problem("flat_cnn")
    est = hessian_trace(p.model, p.x, p.y, method="gn", min_matvecs=13, max_matvecs=13, generator=gen())
    assert not est.exact and est.matvecs == 13
    traces = layer_traces(p.model, p.x, p.y, method="gn", max_matvecs=40, generator=gen())
    assert traces["5.weight"].exact and traces["5.weight"].se < 1e-12
    assert not traces["0.weight"].exact and traces["0.weight"].se > 1e-6


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_a_smooth_chain_of_layers_is_exact_after_certification(name):
    # every pre-activation at most three layers deep: the closed form's τ² is exact (kinks_chain)
    p = problem(name)
    layers = sum(1 for m in p.model.modules() if any(True for _ in m.parameters(recurse=False)))
    for scale in (None, p.scale()):  # a target beyond what probes reach cheaply: exact after the pilot
        est = hessian_trace(p.model, p.x, p.y, scale=scale, method="gn", rel_se=1e-9, max_matvecs=100,
                            generator=gen())  # fmt: skip
        sigma2 = torch.ones(p.H.shape[0], dtype=p.H.dtype) if scale is None else p.flat_scale(scale).square()
        assert est.exact and est.se < 1e-12 and est.matvecs == layers + 10  # certification and the pilot
        assert est.value == pytest.approx(float((p.H.diagonal() * sigma2).sum()), rel=1e-10)
    traces = layer_traces(p.model, p.x, p.y, method="gn", rel_se=1e-9, max_matvecs=1000, generator=gen())
    diagonal = dict(zip(p.names, p.H.diagonal().split([q.numel() for q in p.model.parameters()])))
    for name, t in traces.items():
        assert t.exact and t.value == pytest.approx(float(diagonal[name].sum()), rel=1e-10, abs=1e-12)


def test_stops_at_the_target_relative_error():
    p = problem("mlp")
    loose = hessian_trace(p.model, p.x, p.y, method="hutchinson", rel_se=0.3, max_matvecs=100, generator=gen())
    tight = hessian_trace(p.model, p.x, p.y, method="hutchinson", rel_se=0.05, max_matvecs=100, generator=gen())
    assert loose.matvecs == 10 and loose.se <= 0.3 * abs(loose.value)  # the minimum sufficed
    assert tight.matvecs > loose.matvecs and tight.se < loose.se


def test_budget_caps_the_matvecs():
    p = problem("cnn")
    est = hessian_trace(p.model, p.x, p.y, method="hutchinson", rel_se=1e-4, max_matvecs=25, generator=gen())
    assert est.matvecs == 25 and est.se > 1e-4 * abs(est.value)


@pytest.mark.parametrize("method", STOCHASTIC)
def test_same_generator_state_same_result(method):
    p = problem("flat_cnn")  # gn's closed-form residual samples τ² (a chain of layers: exact)
    a, b, c = (hessian_trace(p.model, p.x, p.y, method=method, max_matvecs=40, generator=gen(s)) for s in (5, 5, 6))
    assert (a.value, a.se, a.matvecs) == (b.value, b.se, b.matvecs)
    assert a.value != c.value


@pytest.mark.parametrize("method", ["hutchinson", "gn"])
def test_standard_error_is_calibrated_over_repeats(method):
    # 60 independent runs of 20 residual products each: the reported se must match the spread of
    # the estimates, and ±2·se must cover the exact value about 95% of the time
    p = problem("flat_cnn")
    exact = p.H.trace().item()
    extra = 3 if method == "gn" else 0  # the certification products
    runs = [
        hessian_trace(p.model, p.x, p.y, method=method, min_matvecs=20 + extra, max_matvecs=20 + extra,
                      generator=gen(100 + i))  # fmt: skip
        for i in range(60)
    ]
    values = torch.tensor([r.value for r in runs])
    ses = torch.tensor([r.se for r in runs])
    ratio = values.std().item() / ses.mean().item()
    coverage = ((values - exact).abs() <= 2 * ses).double().mean().item()
    assert 0.7 < ratio < 1.3, ratio
    assert coverage >= 0.85, coverage
    assert abs(values.mean().item() - exact) <= 4 * values.std().item() / 60**0.5  # unbiased


def test_leaves_the_model_in_its_mode_and_works_under_no_grad():
    p = problem("mlp")
    model = nn.Sequential(*copy.deepcopy(p.model), nn.Dropout(0.5)).train()  # dropout would make H random
    with torch.no_grad():
        est = hessian_trace(model, p.x, p.y, method="exact", generator=gen())
    assert model.training
    assert est.value == pytest.approx(p.H.trace().item(), rel=1e-10)


@pytest.mark.parametrize("name", SMOOTH)
def test_a_wrong_certificate_fails_the_check(name, monkeypatch):
    # if every residual block were wrongly declared zero, gn would return tr(G) "exactly": caught
    from empirical.curvature import trace

    p = problem(name)
    everything = lambda model, x, y, space, **_: Certificate(frozenset(space.modules()), 0)  # noqa: E731
    monkeypatch.setattr(trace, "certified_zero_modules", everything)
    est = hessian_trace(p.model, p.x, p.y, method="gn", gauss_newton="exact", generator=gen())
    assert est.exact and est.value == pytest.approx(p.G.trace().item(), rel=1e-10)
    assert not within(est, p.H.trace().item())


def test_gn_deflates_the_residual_when_far_from_its_target(monkeypatch):
    from empirical.curvature import trace

    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs["sketch"])
        return real(*args, **kwargs)

    real = trace.hutchpp
    monkeypatch.setattr(trace, "hutchpp", spy)
    p = problem("mlp")
    model = Wrapped(p.model)  # a custom forward: the residual goes to Hutchinson
    loose = hessian_trace(model, p.x, p.y, rel_se=0.2, max_matvecs=80, generator=gen())
    assert not calls and not loose.exact
    tight = hessian_trace(model, p.x, p.y, rel_se=0.01, max_matvecs=200, generator=gen())
    assert len(calls) == 1 and 8 <= calls[0] <= 64
    assert within(tight, p.H.trace().item()) and tight.matvecs <= 200


@pytest.mark.parametrize("name", SMOOTH)
def test_gn_takes_the_smooth_residual_in_closed_form(name, monkeypatch):
    from empirical.curvature import trace

    def refuse(*args, **kwargs):
        raise AssertionError("Hutchinson ran although the closed form applies")

    monkeypatch.setattr(trace, "hutchinson", refuse)
    monkeypatch.setattr(trace, "CLOSED_FORM_MAX_PROBES", math.inf)  # no hand-over to Hutchinson
    p = problem(name)
    scale = p.scale()
    exact = (p.flat_scale(scale).square() * p.H.diagonal()).sum().item()
    est = hessian_trace(p.model, p.x, p.y, scale=scale, rel_se=0.02, max_matvecs=400, generator=gen(4))
    assert within(est, exact) and est.se <= 0.02 * abs(est.value) * (1 + 1e-9) and est.matvecs <= 400
    traces = layer_traces(p.model, p.x, p.y, scale=scale, rel_se=0.05, max_matvecs=400, generator=gen(4))
    weighted = p.flat_scale(scale).square() * p.H.diagonal()
    for n in scale:
        assert within(traces[n], weighted[p.blocks()[n]].sum().item()), n


def test_gn_hands_a_costly_closed_form_over_to_hutchinson(monkeypatch):
    from empirical.curvature import trace

    p = problem("flat_cnn")
    monkeypatch.setattr(trace, "CLOSED_FORM_MAX_PROBES", 11)  # the 10-probe pilot projects more than this
    est = hessian_trace(p.model, p.x, p.y, rel_se=0.01, max_matvecs=90, generator=gen())
    assert est.matvecs > 3 + 10 + 10 and within(est, p.H.trace().item())  # certification, pilot, Hutchinson
