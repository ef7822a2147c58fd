"""Tests for empirical.curvature.gn_sampling: sampled tr(GΣ₁) against the exact Gauss–Newton matrix.

Tolerances come from the estimator's own standard error; the calibration test checks that the
reported se matches the spread of independent estimates, so the comparisons can fail.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from empirical.curvature import exact_gauss_newton, gn_sampling, hessian_trace, hessian_traces, trace
from empirical.curvature.gn_sampling import class_directions, heavy_samples, sampled_gauss_newton
from empirical.curvature.space import ParameterSpace
from tests.curvature.problems import problem


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sampled(p, scale=None, *, groups=None, rel_se=1e-9, passes=4, seed=0, give_up_above=float("inf")):
    space = ParameterSpace.build(p.model, p.names, scale)
    blocks = [space.slice_of(g) for g in (groups or [list(space.names)])]
    return sampled_gauss_newton(p.model, p.x, p.y, [space], blocks=[blocks], rel_se=rel_se, abs_se=0.0,
                                max_passes=passes, batch_size=20, generator=gen(seed),
                                give_up_above=give_up_above)  # fmt: skip


def ten_class_relu():
    """A ReLU MLP with 10 classes (float64): the residual is certified zero, so tr(H) = tr(G)."""
    torch.manual_seed(0)
    g = gen(1)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 10)).double().eval()
    x, y = torch.randn(300, 5, generator=g, dtype=torch.float64), torch.randint(0, 10, (300,), generator=g)
    return model, x, y


def test_class_directions_are_eigenvectors_drawn_in_proportion_to_curvature():
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.0], [0.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    p = torch.softmax(logits, 1)
    A = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)
    g, draws = gen(3), 4000
    total = torch.zeros_like(A)
    for _ in range(draws // 100):
        u, tr = class_directions(logits.repeat(100, 1), g)
        u, tr = u.view(100, 2, 4), tr.view(100, 2)
        Au = torch.einsum("bcd,nbd->nbc", A, u)
        lam = (u * Au).sum(2)
        torch.testing.assert_close(Au, lam.unsqueeze(2) * u)  # eigenvectors
        assert (lam > 1e-12).all()  # the null direction (1, ..., 1) is never drawn
        total += (tr.unsqueeze(2).unsqueeze(3) * u.unsqueeze(3) * u.unsqueeze(2)).sum(0)
    torch.testing.assert_close(tr[0], A.diagonal(dim1=1, dim2=2).sum(1))
    # E[tr(A) u uᵀ] = A: the mean of 4,000 draws within 4 standard errors (each entry ≤ tr A in size)
    assert ((total / draws - A).abs() <= 4 * A.diagonal(dim1=1, dim2=2).sum(1).view(2, 1, 1) / draws**0.5).all()


def test_saturated_rows_get_weight_zero():
    u, tr = class_directions(torch.tensor([[1e4, 0.0, 0.0]], dtype=torch.float64), gen())
    assert tr.item() == 0.0 and torch.isfinite(u).all()


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_unbiased_and_standard_error_calibrated(name):
    p = problem(name)
    scale = p.scale()
    exact = (p.flat_scale(scale).square() * p.G.diagonal()).sum().item()
    runs = [sampled(p, scale, passes=3, seed=100 + i) for i in range(40)]
    values = torch.tensor([float(r.values[0]) for r in runs], dtype=torch.float64)
    ses = torch.tensor([float(r.ses[0]) for r in runs], dtype=torch.float64)
    assert abs(values.mean().item() - exact) <= 4 * values.std().item() / 40**0.5
    ratio = values.std().item() / ses.mean().item()
    assert 0.7 < ratio < 1.4, ratio
    assert ((values - exact).abs() <= 2 * ses).double().mean().item() >= 0.85


def test_per_block_traces_within_their_errors():
    p = problem("cnn")
    r = sampled(p, groups=[[n] for n in p.names], passes=6)
    for (name, block), value, se in zip(p.blocks().items(), r.values, r.ses):
        exact = p.G.diagonal()[block].sum().item()
        assert abs(float(value) - exact) <= 4 * float(se) + 1e-12, name


def test_a_wrong_operator_is_caught():
    # the sampled estimate of tr(G) must not agree with tr(H) where they differ (smooth net, far from a minimum)
    p = problem("mlp")
    r = sampled(p, rel_se=0.005, passes=200)
    assert abs(float(r.values[0]) - p.G.trace().item()) <= 4 * float(r.ses[0])
    assert abs(float(r.values[0]) - p.H.trace().item()) > 4 * float(r.ses[0])


def test_stops_at_its_target_and_gives_up_after_the_pilot():
    p = problem("mlp")
    loose, tight = sampled(p, rel_se=0.2, passes=100), sampled(p, rel_se=0.005, passes=100)
    assert loose.passes == 2 and loose.ses[0] <= 0.2 * loose.values[0]
    assert tight.passes > loose.passes and tight.ses[0] <= 0.005 * tight.values[0] and tight.needed <= tight.passes
    pilot = sampled(p, rel_se=1e-4, passes=100, give_up_above=5)
    assert pilot.passes == 2 and pilot.needed > 5


def test_needs_two_passes():
    with pytest.raises(ValueError, match="max_passes must be >= 2"):
        sampled(problem("mlp"), passes=1)


def test_trace_api_chooses_sampling_when_it_is_cheaper():
    model, x, y = ten_class_relu()
    exact = exact_gauss_newton(model, x, y).trace().item()
    loose = hessian_trace(model, x, y, rel_se=0.05, generator=gen())
    assert loose.gauss_newton == "sampled" and loose.gn_passes < 10 and not loose.exact
    assert abs(loose.value - exact) <= 4 * loose.se and loose.se <= 0.05 * loose.value
    tight = hessian_trace(model, x, y, rel_se=1e-4, generator=gen())
    assert tight.gauss_newton == "exact" and tight.gn_passes == 2 and tight.exact  # the pilot gave up
    assert tight.value == pytest.approx(exact, rel=1e-10)
    forced = hessian_trace(model, x, y, rel_se=1e-4, gauss_newton="exact", generator=gen())
    assert forced.gn_passes == 0 and forced.value == pytest.approx(tight.value, rel=1e-12)


def test_smooth_networks_add_the_sampled_error_to_the_residual_one():
    # auto keeps G exact where the residual is estimated; "sampled" combines both standard errors
    p = problem("mlp")
    auto = hessian_trace(p.model, p.x, p.y, rel_se=0.05, max_matvecs=200, generator=gen())
    assert auto.gauss_newton == "exact"
    est = hessian_trace(p.model, p.x, p.y, rel_se=0.05, max_matvecs=200, gauss_newton="sampled", generator=gen())
    assert est.gauss_newton == "sampled" and est.gn_passes >= 2
    assert abs(est.value - p.H.trace().item()) <= 4 * est.se


def test_bad_choice_names_the_value():
    model, x, y = ten_class_relu()
    with pytest.raises(ValueError, match="unknown gauss_newton 'fast'; expected one of auto, exact, sampled"):
        hessian_trace(model, x, y, gauss_newton="fast", generator=gen())


def test_heavy_samples_rank_by_the_last_layers_exact_share():
    model, x, y = ten_class_relu()
    heavy = heavy_samples(model, x, 0.1, batch_size=64)
    with torch.no_grad():
        p = torch.softmax(model(x), 1)
        h = model[1](model[0](x))
    share = (1 - p.square().sum(1)) * (h.square().sum(1) + 1)  # tr(diag p − ppᵀ)(‖h‖² + 1)
    assert len(heavy) == 30 and set(heavy.tolist()) == set(share.argsort(descending=True)[:30].tolist())
    # the exact G of the last layer, per sample, is that share: check it on the heaviest sample
    n = int(heavy[0])
    G = exact_gauss_newton(model, x[n : n + 1], y[n : n + 1], params=["2.weight", "2.bias"])
    assert G.trace().item() == pytest.approx(share[n].item(), rel=1e-10)


def test_traces_of_several_scales_share_one_certificate_and_one_set_of_gradients(monkeypatch):
    model, x, y = ten_class_relu()
    scale = {n: 0.1 + torch.rand(p.shape, generator=gen(2), dtype=p.dtype)
             for n, p in model.named_parameters() if n.endswith("weight")}  # fmt: skip
    G = exact_gauss_newton(model, x, y)
    flat = torch.cat([scale.get(n, torch.zeros_like(p)).reshape(-1) for n, p in model.named_parameters()])
    exact = (G.trace().item(), (flat.square() * G.diagonal()).sum().item())
    calls = {"certify": 0, "passes": 0}
    certify, one_pass = trace.certified_zero_modules, gn_sampling._one_pass

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(trace, "certified_zero_modules", counted("certify", certify))
    monkeypatch.setattr(gn_sampling, "_one_pass", counted("passes", one_pass))
    both = hessian_traces(model, x, y, scales=[None, scale], rel_se=0.05, generator=gen())
    assert calls["certify"] == 1 and calls["passes"] == both[0].gn_passes == both[1].gn_passes
    for est, value in zip(both, exact):
        assert est.gauss_newton == "sampled" and est.se <= 0.05 * est.value
        assert abs(est.value - value) <= 4 * est.se
    # one scale alone is exactly what hessian_trace gives
    alone = hessian_traces(model, x, y, scales=[scale], rel_se=0.05, generator=gen())[0]
    assert alone == dataclasses.replace(hessian_trace(model, x, y, scale=scale, rel_se=0.05, generator=gen()),
                                        seconds=alone.seconds)  # fmt: skip


def test_traces_of_several_scales_estimate_each_residual_of_a_smooth_network():
    p = problem("mlp")
    scale = p.scale()
    exact = (p.H.trace().item(), (p.flat_scale(scale).square() * p.H.diagonal()).sum().item())
    both = hessian_traces(p.model, p.x, p.y, scales=[None, scale], rel_se=0.02, max_matvecs=200, generator=gen())
    assert [e.gauss_newton for e in both] == ["exact", "exact"]
    for est, value in zip(both, exact):
        assert 0 < est.se <= 0.02 * abs(est.value) and abs(est.value - value) <= 4 * est.se


def test_traces_need_a_list_of_scales():
    model, x, y = ten_class_relu()
    with pytest.raises(ValueError, match="scales must be a non-empty sequence"):
        hessian_traces(model, x, y, scales={}, generator=gen())
