"""One run's outcome (a collapsed, dead network counts as diverged, a trained one does not) and its
noise rows: the kink term's prediction beside the second order, every pair's increase kept."""

import json
import math

import numpy as np
import pytest
import torch

from empirical.experiment import models, noise
from empirical.experiment.evaluate import NoisyEvaluation
from empirical.experiment.run import COLLAPSE_MARGIN, failure_of, kink_terms, label_entropy, noise_row
from empirical.experiment.train import TrainResult
from empirical.sweep import config as cfg

OK = TrainResult("ok", None, 3, (2.0, 1.5, 1.0), 0.1)


def test_label_entropy_is_the_best_constant_predictors_loss():
    y = torch.tensor([0, 0, 1, 2])
    p = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)
    assert math.isclose(label_entropy(y), float(-(p * p.log()).sum()))
    constant_logits = p.log().expand(4, 3)
    assert math.isclose(label_entropy(y), torch.nn.functional.cross_entropy(constant_logits, y).item(), rel_tol=1e-6)


def test_failure_reasons():
    y = torch.arange(10).repeat(5)
    chance = label_entropy(y)
    assert failure_of(OK, 0.5, 0.6, y) is None
    assert failure_of(OK, chance - COLLAPSE_MARGIN / 2, chance, y) == "collapsed"
    assert failure_of(OK, chance - 10 * COLLAPSE_MARGIN, chance, y) is None
    assert failure_of(OK, float("nan"), 0.5, y) == "nonfinite"
    assert failure_of(TrainResult("diverged", "exploded", 2, (2.0, 30.0), 0.1), 0.5, 0.5, y) == "exploded"


def test_noise_row_adds_the_kink_prediction_and_keeps_every_pairs_increase():
    losses = np.array([[1.2, 1.0], [1.4, 1.3], [1.1, 1.1]])
    level = NoisyEvaluation(0.1, 1.0, 0.9, losses, np.full((3, 2), 0.8))
    row = noise_row(level, 48.0, 0.4, 0.01, 0.002)
    assert row["predicted_delta_loss"] == pytest.approx(0.5 * 0.1**2 * 48.0)
    assert row["predicted_delta_loss_se"] == pytest.approx(0.5 * 0.1**2 * 0.4)
    assert row["mean_delta_loss"] == 0.0  # zero-mean noise
    assert row["predicted_delta_loss_kink"] == pytest.approx(row["predicted_delta_loss"] + 0.01)
    assert (row["kink_delta_loss"], row["kink_delta_loss_se"]) == (0.01, 0.002)
    assert row["pair_increase"] == pytest.approx([0.1, 0.35, 0.1]) and row["delta_loss"] == pytest.approx(0.55 / 3)
    json.dumps(row)  # run.json holds it: plain numbers and lists
    smooth = noise_row(level, 48.0, 0.4, 0.0, 0.0)
    assert smooth["predicted_delta_loss_kink"] == smooth["predicted_delta_loss"]  # exactly, not approximately


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_kink_terms_are_common_random_numbers_and_zero_for_a_smooth_network(activation, one_thread):
    config = cfg.resolve("smoke", model="mlp", activation=activation, noise_levels=[0.01, 0.1])
    model = models.build("mlp", (40,), 10, activation=activation, seed=0).eval()
    x, y = torch.randn(60, 40, generator=torch.Generator().manual_seed(0)), torch.arange(60) % 10
    scales = noise.scale(model, config.noise_model, noise.targets(model, config.noise_scope))
    first, again = (kink_terms(model, config, scales, x, y).main for _ in range(2))
    assert first.noise_levels == config.noise_levels and first.values == again.values and first.ses == again.ses
    if activation == "relu":
        # the MLP is a chain of layers: τ² exact (kinks_chain), no probes and no sampling error
        assert first.probes == 0 and all(v > 0 for v in first.values) and first.ses == (0.0, 0.0)
    else:
        assert first.probes == 0 and first.values == first.ses == (0.0, 0.0)
