"""Noise on one layer alone: the layer's slice of the overall draw, and the clean prefix that changes nothing."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from empirical.experiment import evaluate, noise
from empirical.sensitivity.layers import Suffix, clean_prefix, first_child, layer_monte_carlo, masked


def _cnn() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Conv1d(4, 4, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(16, 3),
    ).double().eval()  # fmt: skip


def test_masked_keeps_every_key_and_zeroes_the_other_layers():
    scales = {"a": torch.ones(2), "b": torch.full((3,), 2.0)}
    out = masked(scales, "b")
    assert list(out) == ["a", "b"] and torch.equal(out["a"], torch.zeros(2)) and torch.equal(out["b"], scales["b"])
    with pytest.raises(ValueError, match="'c'"):
        masked(scales, "c")


def test_layer_draw_is_the_layers_slice_of_the_overall_draw(quadratic):
    model, x, y = quadratic(coupled=True)
    scales = noise.scale(model, "layer-relative", noise.targets(model))
    eta, pairs = 0.3, 3
    result = layer_monte_carlo(model, x, y, scales, "second_weight", (eta,), 2 * pairs, noise_seed=7, batch_size=5)[0]
    params = {n: p.detach() for n, p in model.named_parameters()}
    shapes = {n: s.shape for n, s in scales.items()}
    clean = evaluate.loss_and_accuracy(model, x, y, 5)[0]
    for k in range(pairs):
        z = noise.draw(shapes, 7, k)["second_weight"].double()
        losses = []
        for sign in (1.0, -1.0):
            swapped = {**params, "second_weight": params["second_weight"] + sign * eta * scales["second_weight"] * z}
            losses.append(evaluate.loss_and_accuracy(model, x, y, 5, swapped)[0])
        assert result.pair_increase[k] == pytest.approx(np.mean(losses) - clean, rel=1e-12)


@pytest.mark.parametrize("blocks", [1, 2])
def test_clean_prefix_gives_the_plain_paths_results(blocks):
    model = _cnn()
    x, y = torch.randn(30, 1, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64), torch.arange(30) % 3
    scales = noise.scale(model, "layer-relative", noise.targets(model))
    for layer in scales:
        fast = layer_monte_carlo(model, x, y, scales, layer, (0.05, 0.2), 4, noise_seed=0, batch_size=8, blocks=blocks)
        plain = evaluate.monte_carlo(model, x, y, masked(scales, layer), (0.05, 0.2), 4, 0, 8, blocks=blocks)
        for f, p in zip(fast, plain):
            np.testing.assert_allclose(f.losses, p.losses, rtol=1e-12)
            np.testing.assert_array_equal(f.accs, p.accs)
            assert f.clean_loss == pytest.approx(p.clean_loss, rel=1e-12)
    module, inputs = clean_prefix(model, "5.weight", x, 8)
    assert isinstance(module, Suffix) and module.start == 5 and inputs.shape == (30, 16)  # the prefix path ran
    assert clean_prefix(model, "0.weight", x, 8)[0] is model


def test_prefix_is_skipped_for_other_modules_and_found_by_child_name():
    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = _cnn()

        def forward(self, x):
            return self.body(x)

    wrapped, x = Wrapped(), torch.randn(4, 1, 16, dtype=torch.float64)
    assert clean_prefix(wrapped, "body.5.weight", x, 8) == (wrapped, x)
    named = nn.Sequential(OrderedDict(encoder=nn.Linear(3, 4), act=nn.Tanh(), head=nn.Linear(4, 2)))
    assert first_child(named, "head.weight") == 2 and first_child(named, "encoder.bias") == 0
