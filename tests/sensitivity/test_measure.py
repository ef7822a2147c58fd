"""The API on networks defined here: exact Hessian blocks, per-layer kink terms, additivity, the result tables."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.autograd.functional import hessian
from torch.func import functional_call

from empirical.experiment import noise
from empirical.sensitivity import LAYER_COLUMNS, measure
from empirical.sensitivity.tables import text


class TwoPathNet(nn.Module):
    """A user's network that is not a ``nn.Sequential``: two tanh branches summed into a linear head."""

    def __init__(self):
        super().__init__()
        self.left, self.right, self.head = nn.Linear(4, 6), nn.Linear(4, 6), nn.Linear(6, 3)

    def forward(self, x):
        return self.head(torch.tanh(self.left(x)) + torch.tanh(self.right(x)))


def _mlp(act: type[nn.Module]) -> nn.Sequential:
    torch.manual_seed(1)
    return nn.Sequential(nn.Linear(6, 16), act(), nn.Linear(16, 16), act(), nn.Linear(16, 3)).double()


def test_runs_on_a_users_network_and_restores_its_mode(tiny_data):
    torch.manual_seed(0)
    model = TwoPathNet().double().train()
    x, y = tiny_data(64, 4, 3)
    r = measure(model, x, y, levels=(0.05, 0.1), samples=8, layer_samples=4, rel_se=0.1)
    assert model.training and list(r.layers) == ["left.weight", "right.weight", "head.weight"]
    rows = r.rows()
    assert len(rows) == 6 and all(tuple(row) == LAYER_COLUMNS for row in rows)
    assert all(row["measured_se"] > 0 for row in rows)
    assert [a.pairs for a in r.additivity] == [2, 2] and len(r.ranks) == 2
    overall = r.overall_rows()
    assert [o["noise_level"] for o in overall] == [0.05, 0.1] and all(o["kink"] == 0 for o in overall)
    blocks = r.layers.values()
    bound = 4 * np.hypot(r.overall.trace.se, sum(c.trace.se for c in blocks))  # blocks share probes: se's add at most
    assert abs(sum(c.trace.value for c in blocks) - r.overall.trace.value) <= bound
    table = text(r)
    assert "right.weight" in table and "Kendall" in table


def test_layer_traces_match_dense_exact_hessian_blocks(tiny_data):
    model = _mlp(nn.Tanh)
    x, y = tiny_data(40, 6, 3)
    r = measure(model, x, y, levels=(0.1,), samples=2, rel_se=1e-3)
    scales = noise.scale(model, "layer-relative", noise.targets(model))
    params = {n: p.detach() for n, p in model.named_parameters()}
    for name, part in r.layers.items():

        def loss(w, name=name):
            return nn.functional.cross_entropy(functional_call(model, {**params, name: w}, (x,)), y)

        block = hessian(loss, params[name]).reshape(params[name].numel(), -1)
        exact = float((block.diagonal() * scales[name].reshape(-1).square()).sum())
        assert abs(part.trace.value - exact) <= 4 * part.trace.se + 1e-9 * abs(exact), name
        assert part.predicted()[0] == pytest.approx(0.5 * 0.1**2 * part.trace.value)  # tanh: no kink term


def test_smooth_network_per_layer_prediction_and_additivity_at_small_noise(tiny_data):
    x, y = tiny_data(200, 6, 3)
    r = measure(_mlp(nn.Tanh), x, y, levels=(0.05,), samples=200, batch_size=200)
    for name, part in r.layers.items():
        z = (part.predicted() - part.measured_mean()) / np.hypot(part.predicted_se(), part.measured_se())
        assert abs(z[0]) < 4, name
    a = r.additivity[0]
    assert a.pairs == 100 and abs(a.difference) < 4 * a.difference_se


def test_relu_layers_need_their_own_kink_term(tiny_data):
    """Noise on one layer alone moves pre-activations across the ReLU kinks; its kink term (the scale
    restricted to that layer) brings the prediction onto the Monte Carlo, which ½η² tr(H_ll Σ₁,ll) misses."""
    x, y = tiny_data(200, 6, 3)
    r = measure(_mlp(nn.ReLU), x, y, levels=(0.3,), samples=200, batch_size=200)
    worst = 0.0
    for name, part in r.layers.items():
        se = np.hypot(part.predicted_se(), part.measured_se())[0]
        assert abs(part.predicted()[0] - part.measured_mean()[0]) < 4 * se, name
        kink, _ = part.kink_values()
        worst = max(worst, abs(part.predicted()[0] - kink[0] - part.measured_mean()[0]) / part.measured_se()[0])
    assert worst > 4  # without the kink term some layer is far off
