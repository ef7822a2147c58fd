"""Noise draws: targets, per-layer scale, statistics, and common random numbers."""

import math

import pytest
import torch
from torch import nn

from empirical.experiment import noise


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv1d(1, 8, 3), nn.BatchNorm1d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 38, 300))


def test_default_targets_are_conv_and_linear_weights_only():
    assert noise.targets(_model()) == ["0.weight", "4.weight"]
    assert len(noise.targets(_model(), "all")) == len(list(_model().parameters()))


@pytest.mark.parametrize("noise_model", ["layer-relative", "multiplicative", "additive"])
def test_drawn_noise_has_the_per_entry_std_the_model_says(noise_model):
    model = _model()
    names = noise.targets(model)
    scales = noise.scale(model, noise_model, names)
    params = dict(model.named_parameters())
    eta = 0.1
    z = noise.draw({n: s.shape for n, s in scales.items()}, noise_seed=3, index=0)
    noisy = noise.perturbed({n: p.detach() for n, p in params.items()}, scales, z, eta)
    for name in names:
        w = params[name].detach()
        eps = (noisy[name] - w).flatten()
        expected = {"layer-relative": torch.full_like(w, w.std(correction=0).item()), "multiplicative": w.abs(),
                    "additive": torch.ones_like(w)}[noise_model].flatten() * eta
        # eps / expected is N(0, 1) entry-wise: its sample variance is within 5 standard errors of 1.
        standardized = eps / expected
        n = standardized.numel()
        assert abs(standardized.mean().item()) < 5 / math.sqrt(n)
        assert abs(standardized.pow(2).mean().item() - 1) < 5 * math.sqrt(2 / n)


def test_layer_relative_std_is_the_layers_own_population_std():
    model = _model()
    with torch.no_grad():
        model[4].weight.mul_(10.0)  # rescale one layer: its noise scales with it, the other's does not
    scales = noise.scale(model, "layer-relative", noise.targets(model))
    assert scales["4.weight"].flatten()[0].item() == pytest.approx(model[4].weight.std(correction=0).item())
    assert scales["0.weight"].flatten()[0].item() == pytest.approx(model[0].weight.std(correction=0).item())


def test_draws_depend_only_on_seed_and_index():
    shapes = {"a": torch.Size([3, 4]), "b": torch.Size([5])}
    first, again = noise.draw(shapes, 7, 2), noise.draw(shapes, 7, 2)
    assert all(torch.equal(first[k], again[k]) for k in shapes)
    assert not torch.equal(first["a"], noise.draw(shapes, 7, 3)["a"])
    assert not torch.equal(first["a"], noise.draw(shapes, 8, 2)["a"])


def test_unknown_noise_model_and_scope_are_refused_by_name():
    with pytest.raises(ValueError, match="'gaussian'"):
        noise.scale(_model(), "gaussian", [])
    with pytest.raises(ValueError, match="'biases'"):
        noise.targets(_model(), "biases")
