"""Tests for empirical.curvature.smooth_residual: tr((H − G)Σ₁) in closed form against the dense
exact H − G (float64): exact on chains of layers (``kinks_chain``); with τ² sampled by probes (the
``probed`` fixture switches the chains off, as for networks they do not cover) within its error,
per group, exact where no noise lies upstream of an own layer, calibrated over repeats; what it
refuses; and that a wrong σ'' (its sign, or σ' in its place) is caught."""

from __future__ import annotations

import doctest
import re

import pytest
import torch
from torch import nn

from empirical.curvature import exact_gauss_newton, exact_hessian, smooth_residual as sr
from empirical.curvature.smooth_residual import obstacle, smooth_residual
from tests.curvature.problems import problem

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def two_hidden_layers(act: type[nn.Module], kind: str):
    """A float64 MLP or CNN with two ``act`` layers, weights doubled (far from a minimum), random labels."""
    torch.manual_seed(3)
    g = gen(3)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(5, 8), act(), nn.Linear(8, 6), act(), nn.Linear(6, 3))
        x = torch.randn(40, 5, generator=g)
    else:
        model = nn.Sequential(nn.Conv1d(2, 3, 3, stride=2, padding=1), act(), nn.Conv1d(3, 4, 3), act(),
                              nn.Flatten(), nn.Linear(8, 3))  # fmt: skip
        x = torch.randn(40, 2, 8, generator=g)
    model = model.double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)
    return model, x.double(), torch.randint(0, 3, (40,), generator=g)


@pytest.fixture
def probed(monkeypatch):
    """τ² by probes on every network, as where ``kinks_chain`` does not apply (e.g. a residual block)."""
    monkeypatch.setattr(sr, "chains", lambda sites: None)


def ones(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: torch.ones_like(p) for n, p in model.named_parameters()}


def uneven(model: nn.Module) -> dict[str, torch.Tensor]:
    """Σ₁^½ on the weights only, positive and uneven."""
    g = gen(7)
    return {n: 0.2 + torch.rand(p.shape, generator=g, dtype=F64) for n, p in model.named_parameters() if "weight" in n}


def exact_residuals(model, x, y, scale, groups) -> list[float]:
    """tr((H − G)_gg Σ₁,gg) per group from the dense matrices."""
    diag = (exact_hessian(model, x, y) - exact_gauss_newton(model, x, y)).diagonal()
    out, start, parts = [], 0, {}
    for n, p in model.named_parameters():
        parts[n] = diag[start : start + p.numel()].view_as(p)
        start += p.numel()
    return [sum(float((parts[n] * scale[n].square()).sum()) for n in g) for g in groups]


def estimate(model, x, y, scale, groups, probes: int, seed: int = 0):
    return smooth_residual(model, x, y, scale, groups, rel_se=1e-12, min_probes=probes, max_probes=probes,
                           generator=gen(seed))  # fmt: skip


def test_docstring_example():
    assert doctest.testmod(sr).failed == 0


@pytest.mark.parametrize("act", [nn.GELU, nn.Tanh, nn.Softplus])
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("scaled", [False, True])
def test_exact_on_a_chain_of_layers(act, kind, scaled):
    model, x, y = two_hidden_layers(act, kind)
    scale = uneven(model) if scaled else ones(model)
    groups = [list(scale), *([n] for n in scale)]
    exact = exact_residuals(model, x, y, scale, groups)
    r = smooth_residual(model, x, y, scale, groups, rel_se=1e-9, min_probes=4, max_probes=100, generator=gen())
    assert r.exact and r.probes == 4 * len(groups) and not r.ses.any()  # the pilot, then exact
    for value, true in zip(r.values.tolist(), exact):
        assert value == pytest.approx(true, rel=1e-10, abs=1e-13)


@pytest.mark.usefixtures("probed")
@pytest.mark.parametrize("act", [nn.GELU, nn.Tanh, nn.Softplus])
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("scaled", [False, True])
def test_within_its_error_of_the_exact_residual(act, kind, scaled):
    model, x, y = two_hidden_layers(act, kind)
    scale = uneven(model) if scaled else ones(model)
    names = list(scale)
    (exact,) = exact_residuals(model, x, y, scale, [names])
    small, large = estimate(model, x, y, scale, [names], 16), estimate(model, x, y, scale, [names], 256, seed=1)
    for r in (small, large):
        assert not r.exact and 0 < float(r.ses[0]) < 0.5 * abs(exact)
        assert abs(float(r.values[0]) - exact) <= 4 * float(r.ses[0])
    ratio = float(small.ses[0] / large.ses[0])  # se ∝ 1/√P: 4, give or take the sd estimates' spread
    assert 2.4 < ratio < 6.5, ratio


@pytest.mark.usefixtures("probed")
@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_per_parameter_groups_within_their_errors(kind):
    model, x, y = two_hidden_layers(nn.GELU, kind)
    scale = uneven(model)
    groups = [[n] for n in scale]
    exact = exact_residuals(model, x, y, scale, groups)
    r = estimate(model, x, y, scale, groups, 64)
    assert r.probes == 64 * len(groups)
    for name, value, se, true in zip(scale, r.values.tolist(), r.ses.tolist(), exact):
        assert abs(value - true) <= 4 * se + 1e-12, name
    # the last layer feeds no activation; the second hidden layer has no noisy layer after it
    assert r.values[-1] == 0 and r.ses[-1] == 0 and r.ses[1] == 0 and r.values[1] != 0


@pytest.mark.usefixtures("probed")
@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_without_noise_upstream_of_an_own_layer_it_is_exact(name):
    p = problem(name)  # mlp: one hidden layer; cnn: noise on its second conv and head only
    scale = ones(p.model) if name == "mlp" else {n: s for n, s in uneven(p.model).items() if not n.startswith("0.")}
    (exact,) = exact_residuals(p.model, p.x, p.y, scale, [list(scale)])
    r = estimate(p.model, p.x, p.y, scale, [list(scale)], 4)
    assert r.exact and float(r.ses[0]) == 0
    assert float(r.values[0]) == pytest.approx(exact, rel=1e-10)


@pytest.mark.usefixtures("probed")
def test_standard_error_is_calibrated_over_repeats():
    model, x, y = two_hidden_layers(nn.Tanh, "cnn")
    scale = uneven(model)
    (exact,) = exact_residuals(model, x, y, scale, [list(scale)])
    runs = [estimate(model, x, y, scale, [list(scale)], 12, seed=100 + i) for i in range(40)]
    values = torch.tensor([float(r.values[0]) for r in runs], dtype=F64)
    ses = torch.tensor([float(r.ses[0]) for r in runs], dtype=F64)
    coverage = ((values - exact).abs() <= 2 * ses).double().mean().item()
    assert coverage >= 0.85, coverage
    assert 0.6 < values.std().item() / ses.mean().item() < 1.5
    assert abs(values.mean().item() - exact) <= 4 * values.std().item() / 40**0.5  # unbiased


@pytest.mark.usefixtures("probed")
def test_stops_at_the_target_and_counts_its_offsets():
    model, x, y = two_hidden_layers(nn.GELU, "mlp")
    scale, names = uneven(model), list(uneven(model))
    loose = smooth_residual(model, x, y, scale, [names], rel_se=0.5, min_probes=4, max_probes=500, generator=gen())
    tight = smooth_residual(model, x, y, scale, [names], rel_se=0.01, min_probes=4, max_probes=500, generator=gen())
    assert loose.probes == 4 and tight.probes > loose.probes
    assert float(tight.ses[0]) <= 0.01 * abs(float(tight.values[0]))
    # an offset −2·value (total ≈ −value, the same target) with se 0.6% leaves the residual 0.8%
    value = float(tight.values[0])
    offset_se = 0.006 * abs(value)
    shared = smooth_residual(model, x, y, scale, [names], rel_se=0.01, min_probes=4, max_probes=500,
                             offsets=torch.tensor([-2 * value]), offset_ses=torch.tensor([offset_se]),
                             generator=gen())  # fmt: skip
    assert shared.probes > tight.probes
    combined = (float(shared.ses[0]) ** 2 + offset_se**2) ** 0.5
    assert combined <= 0.01 * abs(-2 * value + float(shared.values[0])) * (1 + 1e-12)


@pytest.mark.parametrize("wrong", ["sign", "first_derivative"])
@pytest.mark.parametrize("chains", [True, False])
def test_a_wrong_second_derivative_is_caught(wrong, chains, monkeypatch, request):
    if not chains:
        request.getfixturevalue("probed")
    model, x, y = two_hidden_layers(nn.GELU, "cnn")
    scale = ones(model)
    (exact,) = exact_residuals(model, x, y, scale, [list(scale)])
    real = sr.second_derivative

    def first(module, a):
        a = a.detach().clone().requires_grad_(True)
        return torch.autograd.grad(module(a).sum(), a)[0]

    monkeypatch.setattr(sr, "second_derivative", (lambda m, a: -real(m, a)) if wrong == "sign" else first)
    r = estimate(model, x, y, scale, [list(scale)], 64)
    assert abs(float(r.values[0]) - exact) > 4 * float(r.ses[0])


class Custom(nn.Module):
    """A forward that calls tanh as a function: invisible to module hooks."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 5), nn.Linear(5, 3)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


@pytest.mark.parametrize(
    "model, message",
    [
        (Custom(), "module '' \\(Custom\\) has children and its own forward"),
        (nn.Sequential(nn.Linear(4, 5), nn.PReLU(), nn.Linear(5, 3)), "module '1' \\(PReLU\\) is not a known"),
        (nn.Sequential(nn.Linear(4, 5), nn.GELU(), nn.BatchNorm1d(5, track_running_stats=False), nn.Linear(5, 3)),
         "batch norm '2' uses batch statistics"),
        (nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 3)).train(), "in training mode"),
    ],
)  # fmt: skip
def test_refuses_what_hooks_cannot_see(model, message):
    if "training" not in message:
        model.eval()
    assert re.search(message, obstacle(model, [n for n, _ in model.named_parameters()]) or "")


def test_refuses_shared_parameters_and_accepts_the_package_resnet():
    from empirical.experiment import models

    lin = nn.Linear(4, 4)
    shared = nn.Sequential(lin, nn.Tanh(), lin, nn.Linear(4, 3)).eval()
    assert obstacle(shared, [n for n, _ in shared.named_parameters()]) == "a module is used twice"
    resnet = models.build("resnet20", (3, 8, 8), 10, activation="gelu", seed=0).eval()
    assert obstacle(resnet, [n for n, _ in resnet.named_parameters()]) is None


def test_hessian_trace_falls_back_to_hutchinson_and_is_still_right(monkeypatch):
    from empirical.curvature import hessian_trace, trace

    def refuse(*args, **kwargs):
        raise AssertionError("the closed form must not run on a custom forward")

    monkeypatch.setattr(trace, "smooth_residual", refuse)
    torch.manual_seed(0)
    model = Custom().double().eval()
    g = gen(0)
    x, y = torch.randn(32, 4, generator=g, dtype=F64), torch.randint(0, 3, (32,), generator=g)
    est = hessian_trace(model, x, y, max_matvecs=60, generator=gen())
    assert not est.exact and abs(est.value - exact_hessian(model, x, y).trace().item()) <= 4 * est.se


def test_batch_norm_and_the_residual_block_within_its_error():
    # eval-mode batch norm with non-trivial statistics, the package's residual block with its
    # zero-padding shortcut (stride 2, 2 -> 3 channels), average pooling: no own layers, all probed
    from empirical.experiment import models

    torch.manual_seed(0)
    g = gen(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.BatchNorm2d(2), nn.Tanh(),
                          models._BasicBlock(2, 3, 2, nn.GELU), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(3, 3)).double()  # fmt: skip
    for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.5, 0.5, generator=g)
        bn.running_var.uniform_(0.5, 2.0, generator=g)
        bn.weight.data.uniform_(0.5, 1.5, generator=g)
    model.eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(2.0)
    x, y = torch.randn(24, 1, 6, 6, generator=g, dtype=F64), torch.randint(0, 3, (24,), generator=g)
    scale = ones(model)
    assert obstacle(model, list(scale)) is None
    (exact,) = exact_residuals(model, x, y, scale, [list(scale)])
    r = estimate(model, x, y, scale, [list(scale)], 64)
    assert 0 < float(r.ses[0]) < 0.2 * abs(exact) and abs(float(r.values[0]) - exact) <= 4 * float(r.ses[0])
