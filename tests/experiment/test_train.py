"""Training: seeded and reproducible; divergence is detected and recorded, not raised."""

import torch
from torch import nn

from empirical.experiment.train import FROZEN_EPOCHS, frozen, train


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


class _WithUnused(nn.Module):
    """A network with a parameter the loss ignores (it never gets a gradient)."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.unused = _model(1), nn.Parameter(torch.ones(3))

    def forward(self, x):
        return self.body(x)


def test_training_makes_torch_optim_sgds_updates_bit_for_bit():
    x, y = _data()
    ours, ref = _WithUnused(), _WithUnused()
    _fit(ours, 0.05, weight_decay=1e-3, epochs=2)
    optimizer = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    generator = torch.Generator().manual_seed(3)  # train's shuffling: seed, one permutation per epoch
    for _ in range(2):
        for idx in torch.randperm(len(y), generator=generator).split(20):
            optimizer.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(ref(x[idx]), y[idx]).backward()
            optimizer.step()
    assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), ref.parameters(), strict=True))
    assert torch.equal(ours.unused, torch.ones(3))


def test_huge_learning_rate_is_recorded_as_diverged_and_stops_early():
    result = _fit(_model(0), 1e4, epochs=50)
    assert result.status == "diverged" and result.failure in ("nonfinite", "exploded")
    assert result.epochs < 50


def _dead(seed: int) -> nn.Module:
    """Every hidden ReLU is off on every input: only the output bias can learn."""
    model = _model(seed)
    with torch.no_grad():
        model[0].bias.fill_(-1e3)
    return model


def test_frozen_is_true_only_for_a_network_with_constant_logits():
    x, _ = _data()
    assert frozen(_dead(0), x)
    assert not frozen(_model(0), x)


def test_a_frozen_network_stops_as_collapsed_after_two_epochs():
    result = _fit(_dead(0), 0.05, epochs=10)
    assert result.status == "diverged" and result.failure == "collapsed"
    assert result.epochs == FROZEN_EPOCHS


def test_a_network_that_learns_is_never_stopped_as_frozen():
    result = _fit(_model(0), 1e-4, epochs=4)  # too small a step to leave the label entropy in 4 epochs
    assert result.status == "ok" and result.epochs == 4
