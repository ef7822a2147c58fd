"""Monte Carlo noisy evaluation: antithetic estimates are unbiased with calibrated errors."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from empirical.experiment import evaluate, noise

from tests.experiment.quadratic import QuadraticLoss
from tests.experiment.quadratic import quadratic as _quadratic


def test_loss_of_the_quadratic_model_is_the_quadratic():
    model, x, y = _quadratic()
    loss, acc = evaluate.loss_and_accuracy(model, x, y, batch_size=2)
    expected = 0.5 * (model.a * model.weight.detach() ** 2).sum().item() + 1.0
    assert math.isclose(loss, expected, rel_tol=1e-12)
    assert acc == 0.0  # logit 1 wins since q > log 2


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


class ScaledQuadraticLoss(QuadraticLoss):
    """Per-sample cross-entropy c_i · (q(W) − 1) + 1 for input x_i = c_i > 0: samples weigh the noise differently."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = x[:, 0] * 0.5 * (self.a * self.weight**2).sum() + 1.0
        return torch.stack([torch.zeros(len(x), dtype=q.dtype), torch.log(torch.expm1(q))], dim=1)


def _scaled_quadratic(n: int = 7):
    model, _, _ = _quadratic()
    model = ScaledQuadraticLoss(model.a, model.weight.detach()).double()
    c = torch.linspace(0.5, 3.0, n, dtype=torch.float64)[:, None]
    return model, c, torch.zeros(n, dtype=torch.long)


def test_blocked_pair_gives_each_block_its_own_draw():
    # Sample i is in block i mod B and sees draw k·B + b, so the pair increase is the split's mean of
    # c_i · ½ Σ a (η z_{k, i mod B})², exactly.
    model, x, y = _scaled_quadratic()
    scales = noise.scale(model, "additive", ["weight"])
    eta, blocks = 0.3, 3
    level = evaluate.monte_carlo(model, x, y, scales, (eta,), samples=4, noise_seed=2, batch_size=2, blocks=blocks)[0]
    for k, d in enumerate(level.pair_increase):
        per_block = [
            0.5 * (model.a * (eta * noise.draw({"weight": model.weight.shape}, 2, k * blocks + b)["weight"].double()) ** 2).sum()
            for b in range(blocks)
        ]
        expected = sum(x[i, 0].item() * per_block[i % blocks].item() for i in range(len(y))) / len(y)
        assert math.isclose(d, expected, rel_tol=1e-9)


@pytest.mark.parametrize("blocks", [1, 3])
def test_antithetic_estimate_is_unbiased_with_calibrated_standard_error(blocks):
    # Samples weigh the noise differently (c_i), so with blocks each block's own draw matters.
    model, x, y = _scaled_quadratic()
    scales = noise.scale(model, "layer-relative", ["weight"])
    exact_per_unit = x[:, 0].mean().item() * 0.5 * (model.a * scales["weight"] ** 2).sum().item()
    z_scores = []
    for seed in range(20):
        for level in evaluate.monte_carlo(model, x, y, scales, (0.1, 0.5), samples=40, noise_seed=seed,
                                          batch_size=4, blocks=blocks):  # fmt: skip
            row = level.row()
            z_scores.append((row["delta_loss"] - level.noise_level**2 * exact_per_unit) / row["delta_loss_se"])
    z = np.array(z_scores)
    # Unbiased: the mean z-score is within 4 standard errors of 0; calibrated: spread near 1.
    assert abs(z.mean()) < 4 / math.sqrt(len(z))
    assert 0.7 < z.std() < 1.3


def test_blocked_passes_leave_the_single_device_spread_empty():
    model, x, y = _scaled_quadratic()
    scales = noise.scale(model, "additive", ["weight"])
    one, three = (evaluate.monte_carlo(model, x, y, scales, (0.2,), 4, 0, 8, blocks=b)[0].row() for b in (1, 3))
    assert math.isfinite(one["delta_loss_std"]) and math.isfinite(one["noisy_acc_std"])
    assert math.isnan(three["delta_loss_std"]) and math.isnan(three["noisy_acc_std"])
    assert (one["blocks"], three["blocks"]) == (1, 3)


def test_more_blocks_than_samples_is_refused_with_the_value():
    model, x, y = _scaled_quadratic(n=2)
    scales = noise.scale(model, "additive", ["weight"])
    try:
        evaluate.monte_carlo(model, x, y, scales, (0.2,), 4, 0, 8, blocks=3)
    except ValueError as error:
        assert "blocks 3" in str(error)
    else:
        raise AssertionError("blocks > samples was accepted")
