"""One run's outcome: a collapsed (dead) network counts as diverged, a trained one does not."""

import math

import torch

from empirical.experiment.run import COLLAPSE_MARGIN, failure_of, label_entropy
from empirical.experiment.train import TrainResult

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
