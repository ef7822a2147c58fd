"""The Monte Carlo's control variate: zero mean by construction, exact on a quadratic, calibrated."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from empirical.experiment import control_variate, evaluate, noise
from empirical.experiment.control_variate import QuadraticControl, adjust

from tests.experiment.quadratic import quadratic


def _random_control(shapes: dict[str, tuple[int, ...]], k: int, seed: int) -> QuadraticControl:
    g = torch.Generator().manual_seed(seed)
    dim = sum(math.prod(s) for s in shapes.values())
    q, _ = torch.linalg.qr(torch.randn(dim, k, generator=g, dtype=torch.float64))
    directions, start = {}, 0
    for name, shape in shapes.items():
        n = math.prod(shape)
        directions[name] = q[start : start + n].T.reshape(k, *shape)
        start += n
    return QuadraticControl(torch.rand(k, generator=g, dtype=torch.float64) * 3, directions)


def test_the_control_has_mean_zero_for_any_orthonormal_directions():
    shapes = {"a.weight": (6, 5), "b.weight": (3, 6)}
    control = _random_control(shapes, k=7, seed=1)
    c = np.array([control.of(noise.draw(shapes, 3, i)) for i in range(4000)])
    assert abs(c.mean()) <= 4 * c.std(ddof=1) / math.sqrt(len(c))
    assert c.std() > 0.5  # it varies: a mean of zero is not a constant zero


def test_with_the_whole_eigenbasis_the_quadratic_model_is_measured_exactly():
    # L(w ± ε) − L(w) pair mean = ½η² Σ a z²; c = ½ Σ a (z² − 1): d − c·η² is the expectation ½η² Σ a.
    model, x, y = quadratic()
    scales = noise.scale(model, "additive", ["weight"])
    a = model.a.reshape(-1)
    basis = torch.eye(a.numel(), dtype=torch.float64).reshape(-1, 4, 5)  # the eigenvectors of diag(a)
    control = QuadraticControl(a.clone(), {"weight": basis})
    eta = 0.2
    [level] = evaluate.monte_carlo(model, x, y, scales, (eta,), samples=40, noise_seed=2, batch_size=3, control=control)
    row = level.row()
    expected = 0.5 * eta**2 * a.sum().item()
    assert row["delta_loss"] == pytest.approx(expected, rel=1e-9)
    assert row["control_slope"] == pytest.approx(1.0, rel=1e-9)
    assert row["delta_loss_se"] <= 1e-9 * expected < row["delta_loss_plain_se"]
    assert abs(row["delta_loss_plain"] - expected) > 1e-6 * expected  # the plain mean is not exact


def test_the_slope_is_fitted_and_the_mean_stays_unbiased():
    rng = np.random.default_rng(0)
    estimates, ses = [], []
    for _ in range(400):
        c = rng.chisquare(1, size=40) - 1
        d = 2.0 + 3.0 * c + rng.normal(0, 0.5, size=40)
        fit = adjust(d, c)
        estimates.append(fit.increases.mean())
        ses.append(fit.se)
    estimates = np.array(estimates)
    assert abs(estimates.mean() - 2.0) <= 4 * estimates.std(ddof=1) / math.sqrt(len(estimates))
    # the reported se matches the spread of the estimates (calibrated), and is far below the plain one
    assert np.mean(ses) == pytest.approx(estimates.std(ddof=1), rel=0.15)
    assert np.mean(ses) < 0.5 * (3.0 * math.sqrt(2) / math.sqrt(40))


def test_too_few_pairs_leave_the_monte_carlo_plain():
    d, c = np.array([1.0, 2.0, 4.0]), np.array([-1.0, 0.0, 2.0])
    fit = adjust(d, c)
    assert fit.slope == 0.0 and np.array_equal(fit.increases, d)
    assert len(d) < control_variate.MIN_PAIRS


def test_a_lanczos_control_on_the_top_directions_shrinks_the_error_without_moving_the_mean():
    # build() finds 9 of the quadratic's 20 eigenpairs by Lanczos; the other 11 directions stay plain Monte Carlo
    model, x, y = quadratic()
    scales = noise.scale(model, "additive", ["weight"])
    control = control_variate.build(model, x, y, scales, 9, batch_size=3, generator=torch.Generator().manual_seed(0))
    assert control is not None and len(control.values) == 9
    top = torch.sort(model.a.reshape(-1), descending=True).values[:9]
    assert torch.allclose(torch.sort(control.values, descending=True).values, top, rtol=1e-3)
    eta = 0.1
    expected = 0.5 * eta**2 * model.a.sum().item()
    rows = [evaluate.monte_carlo(model, x, y, scales, (eta,), samples=60, noise_seed=seed, batch_size=3,
                                 control=control)[0].row() for seed in range(20)]  # fmt: skip
    z = [(r["delta_loss"] - expected) / r["delta_loss_se"] for r in rows]
    assert np.mean(np.abs(z) <= 2) >= 0.8  # calibrated: about 95% of the seeds within 2 se
    estimates, ses = np.array([r["delta_loss"] for r in rows]), np.array([r["delta_loss_se"] for r in rows])
    assert abs(estimates.mean() - expected) <= 4 * estimates.std(ddof=1) / math.sqrt(len(rows))  # unbiased
    assert ses.mean() < 0.7 * np.mean([r["delta_loss_plain_se"] for r in rows])


def test_no_directions_means_no_control():
    model, x, y = quadratic()
    scales = noise.scale(model, "additive", ["weight"])
    assert control_variate.build(model, x, y, scales, 0, batch_size=3, generator=torch.Generator()) is None
