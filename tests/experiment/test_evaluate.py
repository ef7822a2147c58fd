"""Monte Carlo noisy evaluation: antithetic estimates are unbiased with calibrated errors."""

import math

import numpy as np
import torch
from torch import nn

from empirical.experiment import evaluate, noise


class QuadraticLoss(nn.Module):
    """A model whose mean cross-entropy on label 0 is exactly q(W) = ½ Σ a W² + 1.

    Logits are (0, log(expm1(q))), so CE = log(1 + expm1(q)) = q. Under W + ε with
    ε ~ N(0, η² s²) the exact expected increase is ½ η² Σ a s².
    """

    def __init__(self, a: torch.Tensor, w: torch.Tensor):
        super().__init__()
        self.register_buffer("a", a)
        self.weight = nn.Parameter(w.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = 0.5 * (self.a * self.weight**2).sum() + 1.0
        other = torch.log(torch.expm1(q))
        return torch.stack([torch.zeros(len(x)), other.expand(len(x))], dim=1)


def _quadratic():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 5, generator=g, dtype=torch.float64) * 2
    w = torch.randn(4, 5, generator=g, dtype=torch.float64)
    model = QuadraticLoss(a, w).double()
    x, y = torch.zeros(3, 1, dtype=torch.float64), torch.zeros(3, dtype=torch.long)
    return model, x, y


def test_loss_of_the_quadratic_model_is_the_quadratic():
    model, x, y = _quadratic()
    loss, acc = evaluate.loss_and_accuracy(model, x, y, batch_size=2)
    expected = 0.5 * (model.a * model.weight.detach() ** 2).sum().item() + 1.0
    assert math.isclose(loss, expected, rel_tol=1e-12)
    assert acc == 0.0  # logit 1 wins since q > log 2


def test_antithetic_estimate_is_unbiased_with_calibrated_standard_error():
    model, x, y = _quadratic()
    scales = noise.scale(model, "layer-relative", ["weight"])
    levels = (0.1, 0.5)
    z_scores = []
    for seed in range(20):
        for level in evaluate.monte_carlo(model, x, y, scales, levels, samples=40, noise_seed=seed, batch_size=3):
            row = level.row()
            exact = 0.5 * level.noise_level**2 * (model.a * scales["weight"] ** 2).sum().item()
            z_scores.append((row["delta_loss"] - exact) / row["delta_loss_se"])
    z = np.array(z_scores)
    # Unbiased: the mean z-score is within 4 standard errors of 0; calibrated: spread near 1.
    assert abs(z.mean()) < 4 / math.sqrt(len(z))
    assert 0.7 < z.std() < 1.3


def test_each_antithetic_pair_cancels_the_odd_order_terms_exactly():
    # L(w+ε) = L(w) + (a⊙w)·ε + ½ Σ a ε²: the pair mean drops the linear term, leaving ½ Σ a ε².
    model, x, y = _quadratic()
    scales = noise.scale(model, "additive", ["weight"])
    eta = 0.3
    level = evaluate.monte_carlo(model, x, y, scales, (eta,), samples=6, noise_seed=5, batch_size=3)[0]
    for k, d in enumerate(level.pair_increase):
        z = noise.draw({"weight": model.weight.shape}, 5, k)["weight"].double()
        assert math.isclose(d, 0.5 * (model.a * (eta * z) ** 2).sum().item(), rel_tol=1e-9)


def test_common_random_numbers_give_equal_draws_for_equal_shapes():
    model, x, y = _quadratic()
    scales = noise.scale(model, "additive", ["weight"])
    first = evaluate.monte_carlo(model, x, y, scales, (0.2,), samples=4, noise_seed=1, batch_size=3)[0]
    again = evaluate.monte_carlo(model, x, y, scales, (0.2,), samples=4, noise_seed=1, batch_size=3)[0]
    assert np.array_equal(first.losses, again.losses)
