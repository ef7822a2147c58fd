"""Tests for empirical.curvature.kinks: the kink term against a brute-force Monte Carlo E[ΔL] on a
one-hidden-layer network, τ² against a dense J Σ₁ Jᵀ (own layers exact, reused layers not), the
estimate within its error of the exact-τ² plug-in, the exact zero of smooth activations, arguments."""

from __future__ import annotations

import doctest
import math

import pytest
import torch
from torch import nn

from empirical.curvature import exact_hessian, kink_term, kinks
from empirical.curvature.kinks_probes import directions, probe_squares, unit_variances
from empirical.curvature.kinks_units import clean_pass, kinked_modules
from tests.curvature.dense_variances import dense_unit_variances
from theory import predict

F64 = torch.float64


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def weight_scale(model: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Σ₁^½ on the weights (biases noise-free), positive and uneven."""
    g = gen(seed)
    return {
        n: 0.5 + torch.rand(p.shape, generator=g, dtype=p.dtype)
        for n, p in model.named_parameters()
        if n.endswith("weight")
    }


def one_hidden_layer(act: nn.Module, seed: int, x_scale: float = 1.0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 12), act, nn.Linear(12, 3)).double()
    g = gen(seed)
    x = x_scale * torch.randn(64, 5, generator=g, dtype=F64)
    return model, x, torch.randint(0, 3, (64,), generator=g)


def test_docstring_example():
    assert doctest.testmod(kinks).failed == 0


class Reused(nn.Module):
    """One Linear and one ReLU applied twice: the second call's own and upstream noise are the same."""

    def __init__(self):
        super().__init__()
        self.lin, self.act, self.head = nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)

    def forward(self, x):
        return self.head(self.act(self.lin(self.act(self.lin(x)))))


def two_hidden_layers(kind: str):
    torch.manual_seed(1)
    g = gen(1)
    x = torch.randn(10, 4, generator=g)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 5), nn.LeakyReLU(0.2), nn.Linear(5, 3))
    elif kind == "reused":
        model = Reused()
    else:  # strided convolutions, the shape of the MNIST-1D CNN
        model = nn.Sequential(
            nn.Conv1d(1, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Conv1d(3, 4, 3, stride=2, padding=1),
            nn.ReLU(inplace=True), nn.Flatten(), nn.Linear(8, 3),
        )  # fmt: skip
        x = torch.randn(10, 1, 8, generator=g)
    return model.double(), x.double(), torch.randint(0, 3, (10,), generator=g)


def monte_carlo_increase(model, x, y, scale, eta: float, pairs: int, seed: int) -> tuple[float, float]:
    """E[ΔL] ± se by antithetic draws ε ~ N(0, η²Σ₁) on a Linear–act–Linear network, in blocks."""
    params = {n: p.detach() for n, p in model.named_parameters()}

    def losses(delta: dict[str, torch.Tensor]) -> torch.Tensor:  # (K,) mean losses at w + delta_k
        w1, w2 = params["0.weight"] + delta["0.weight"], params["2.weight"] + delta["2.weight"]
        h = model[1](torch.einsum("koi,ni->kno", w1, x) + params["0.bias"])
        logits = torch.einsum("koi,kni->kno", w2, h) + params["2.bias"]
        ce = nn.functional.cross_entropy(logits.flatten(0, 1), y.repeat(len(w1)), reduction="none")
        return ce.reshape(len(w1), -1).mean(1)

    clean = losses({n: torch.zeros(1, *params[n].shape, dtype=F64) for n in scale})[0]
    g, increases = gen(seed), []
    for _ in range(pairs // 2000):
        eps = {n: eta * s * torch.randn((2000, *s.shape), generator=g, dtype=F64) for n, s in scale.items()}
        increases.append((losses(eps) + losses({n: -e for n, e in eps.items()})) / 2 - clean)
    d = torch.cat(increases)
    return float(d.mean()), float(d.std() / math.sqrt(len(d)))


@pytest.mark.parametrize(
    "act, seed, x_scale", [(nn.ReLU(), 1, 1.0), (nn.LeakyReLU(0.2), 3, 1.0), (nn.Hardtanh(), 1, 4.0)]
)
def test_kink_term_completes_the_second_order_prediction(act, seed, x_scale):
    model, x, y = one_hidden_layer(act, seed, x_scale)
    scale = weight_scale(model, seed)
    sigma = torch.cat([scale.get(n, torch.zeros_like(p)).reshape(-1) for n, p in model.named_parameters()])
    trace = float((exact_hessian(model, x, y).diagonal() * sigma**2).sum())  # tr(HΣ₁), autograd's H
    eta = 0.02  # small: the smooth η⁴ terms are negligible, the kink term is not
    est = kink_term(model, x, y, scale, [eta], probes=2, generator=gen())
    kink, kink_se = est.values[0], est.ses[0]
    second = float(predict.delta_loss_second_order(eta, trace))
    measured, se = monte_carlo_increase(model, x, y, scale, eta, 10_000, seed)
    assert kink_se < 1e-9 * abs(kink)  # one hidden layer: τ² is all own layer, exact
    assert abs(kink) > 0.15 * abs(measured)  # a large share
    assert abs(measured - float(predict.delta_loss_with_kinks(eta, trace, kink))) < 4 * se
    assert abs(measured - second) > 10 * se  # the Hessian alone is rejected


@pytest.mark.parametrize("kind, own", [("mlp", True), ("cnn", True), ("reused", False)])
def test_unit_variances_match_a_dense_jacobian(kind, own):
    model, x, y = two_hidden_layers(kind)
    scale = weight_scale(model)
    kinked = kinked_modules(model)
    probes = 4000
    sites = clean_pass(model.eval(), x, y, len(y), kinked)
    squares = probe_squares(model, x, kinked, sites, directions(scale, probes, gen()))
    exact = dense_unit_variances(model, x, sites, scale)
    assert [s.own is not None for s in sites] == [own, own]  # fed directly by a Linear/Conv used once
    for depth, (site, sq, (tau2, upstream)) in enumerate(zip(sites, squares, exact)):
        assert (sq is None) == (depth == 0 and own)  # a layer fed by the input needs no probes
        estimate = unit_variances(site, sq, scale)
        if depth == 0 and own:  # no noise upstream: exact
            assert torch.allclose(estimate, tau2, rtol=1e-10, atol=0)
            continue
        tol = 5 * math.sqrt(2 / probes) * upstream + 1e-12 * tau2  # τ̂²_up ~ τ²_up χ²_P / P
        assert ((estimate - tau2).abs() < tol).all()
        if own:
            assert not ((sq.mean(0) - tau2).abs() < tol).all()  # the own-layer part is needed


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_kink_term_is_the_exact_plug_in_on_a_chain_of_layers(kind):
    model, x, y = two_hidden_layers(kind)
    scale = weight_scale(model)
    sites = clean_pass(model.eval(), x, y, len(y), kinked_modules(model))
    levels = (0.3, 1.0)
    truth = sum(
        predict.kink_term(levels, s.pre.numpy(), tau2.sqrt().numpy(), s.grad.numpy(), s.kinks)
        for s, (tau2, _) in zip(sites, dense_unit_variances(model, x, sites, scale))
    )
    est = kink_term(model, x, y, scale, levels, generator=gen(), batch_size=4)
    assert est.probes == 0 and est.ses == (0.0, 0.0)
    assert est.values == pytest.approx(tuple(truth), rel=1e-9)


def test_kink_term_is_within_its_error_of_the_exact_plug_in(monkeypatch):
    monkeypatch.setattr(kinks, "chain_variances", lambda sites, scale: None)  # τ² by probes, as off chains
    model, x, y = two_hidden_layers("cnn")
    scale = weight_scale(model)
    sites = clean_pass(model.eval(), x, y, len(y), kinked_modules(model))
    exact = dense_unit_variances(model, x, sites, scale)
    levels = (0.3, 1.0)
    truth = sum(
        predict.kink_term(levels, s.pre.numpy(), tau2.sqrt().numpy(), s.grad.numpy(), s.kinks)
        for s, (tau2, _) in zip(sites, exact)
    )
    for seed in range(3):
        est = kink_term(model, x, y, scale, levels, probes=64, generator=gen(seed), batch_size=4)
        assert est.probes == 64 and est.noise_levels == levels
        for value, se, true in zip(est.values, est.ses, truth):
            assert 0 < se < 0.2 * abs(true)
            assert abs(value - true) < 4 * se


def test_inplace_activation_gives_the_same_term():
    model, x, y = one_hidden_layer(nn.ReLU(), 1)
    scale = weight_scale(model, 1)
    before = kink_term(model, x, y, scale, [0.05, 0.1], generator=gen())
    model[1].inplace = True
    assert kink_term(model, x, y, scale, [0.05, 0.1], generator=gen()).values == before.values


@pytest.mark.parametrize("act", [nn.GELU(), nn.Tanh(), nn.SiLU()])
def test_smooth_activations_have_no_kink_term(act):
    model, x, y = one_hidden_layer(act, 0)
    est = kink_term(model, x, y, weight_scale(model), [0.0, 0.1, 1.0], generator=gen())
    assert est.values == (0.0, 0.0, 0.0) and est.ses == (0.0, 0.0, 0.0) and est.probes == 0


def test_zero_noise_level_gives_zero():
    model, x, y = one_hidden_layer(nn.ReLU(), 0)
    est = kink_term(model, x, y, weight_scale(model), [0.0, 0.1], generator=gen())
    assert est.values[0] == 0.0 and est.ses[0] == 0.0 and est.values[1] != 0.0


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(probes=1), "probes must be an int >= 2"),
        (dict(probes=True), "probes must be an int >= 2"),
        (dict(generator=0), "generator must be a torch.Generator"),
        (dict(scale={"0.bogus": torch.ones(3)}), "scale names '0.bogus'"),
        (dict(scale={"0.weight": torch.ones(2, 2, dtype=F64)}), r"scale\['0.weight'\] must be a tensor of the"),
        (dict(noise_levels=[]), "noise_levels must be a non-empty sequence"),
        (dict(noise_levels=[0.1, -0.1]), "noise_levels must be a non-empty sequence"),
        (dict(noise_levels=0.1), "noise_levels must be a non-empty sequence"),
        (dict(batch_size=0), "batch_size must be an int >= 1"),
    ],
)
def test_bad_arguments_are_named(change, message):
    model, x, y = one_hidden_layer(nn.ReLU(), 0)
    args = dict(scale=weight_scale(model), noise_levels=[0.1], probes=4, generator=gen(), batch_size=8) | change
    with pytest.raises(ValueError, match=message):
        kink_term(model, x, y, **args)


@pytest.mark.parametrize("module", [nn.MaxPool1d(2), nn.ReLU6(), nn.Hardtanh(0.0, 2.0), nn.PReLU(), nn.Hardswish()])
def test_unsupported_piecewise_linear_modules_are_refused(module):
    model = nn.Sequential(nn.Linear(4, 6), module)
    with pytest.raises(ValueError, match=r"module '1' .* is piecewise linear but its kinks are not supported"):
        kinked_modules(model)


@pytest.mark.parametrize("chains", [True, False])
def test_several_scales_in_one_call_match_one_call_each(chains, monkeypatch):
    if not chains:  # τ² by probes: each scale draws its own, in order, from the shared generator
        monkeypatch.setattr(kinks, "chain_variances", lambda sites, scale: None)
    model, x, y = two_hidden_layers("cnn")
    scales, levels = [weight_scale(model, 0), weight_scale(model, 1)], [(0.1, 0.3), (0.2,)]
    together = kinks.kink_terms(model, x, y, scales, levels, generator=gen(), batch_size=10)
    first = kink_term(model, x, y, scales[0], levels[0], generator=gen(), batch_size=10)
    assert together[0].values == pytest.approx(first.values, rel=1e-12) and together[0].ses == pytest.approx(first.ses)
    assert [e.noise_levels for e in together] == levels
    if chains:  # exact: the second scale alone gives the same
        second = kink_term(model, x, y, scales[1], levels[1], generator=gen(), batch_size=10)
        assert together[1].values == pytest.approx(second.values, rel=1e-12) and together[1].ses == (0.0,)
