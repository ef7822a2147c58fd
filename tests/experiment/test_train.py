"""Training: seeded and reproducible; divergence is detected and recorded, not raised."""

import torch
from torch import nn

from empirical.experiment.train import train


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=g)
    y = (x[:, 0] > 0).long()
    return x, y


def _model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))


def _fit(model, lr, **kw):
    x, y = _data()
    options = dict(momentum=0.9, weight_decay=0.0, epochs=5, batch_size=20, seed=3, divergence_factor=10.0)
    options.update(kw)
    return train(model, x, y, lr=lr, **options)


def test_training_reduces_the_loss_and_is_reproducible():
    a, b = _model(0), _model(0)
    ra, rb = _fit(a, 0.05), _fit(b, 0.05)
    assert ra.status == "ok" and ra.epochs == 5
    assert ra.epoch_losses[-1] < ra.epoch_losses[0]
    assert ra.epoch_losses == rb.epoch_losses
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not a.training  # left in eval mode


def test_huge_learning_rate_is_recorded_as_diverged_and_stops_early():
    result = _fit(_model(0), 1e4, epochs=50)
    assert result.status == "diverged" and result.failure in ("nonfinite", "exploded")
    assert result.epochs < 50
