import math

import numpy as np
import pytest
import sympy as sp

from theory import mean_noise
from theory.checks import require_identity
from theory.notation import generic_loss, instantiate, symmetric_matrix
from theory.predict_mean import delta_loss_with_mean, pcm_device_moments, pcm_weight_moments

DRAWS = 400_000
RNG = np.random.default_rng(21)
Z = RNG.standard_normal((3, DRAWS))


def mean_and_se(samples: np.ndarray) -> tuple[float, float]:
    return float(samples.mean()), float(samples.std(ddof=1) / math.sqrt(len(samples)))


def test_derivations_check_themselves() -> None:
    assert mean_noise.second_order_with_mean() == mean_noise.WITH_MEAN
    first, second = mean_noise.pcm_device_moments()
    assert first.free_symbols == second.free_symbols
    mean, variance = mean_noise.pcm_weight_moments()
    assert mean_noise.alpha in mean.free_symbols and mean_noise.alpha in variance.free_symbols


def test_the_check_fails_without_the_mean_curvature_term() -> None:
    loss, params = generic_loss(2)
    mean = sp.Matrix(sp.symbols("m_1:3", real=True))
    cov = symmetric_matrix("Sigma", 2)
    values = {mean_noise.mu[a + 1]: mean[a] for a in range(2)}
    wrong = mean_noise.GRAD_MEAN + mean_noise.WITH_MEAN.args[-1]  # gᵀμ + ½ tr(HΣ) only
    with pytest.raises(ArithmeticError):
        require_identity(
            mean_noise.expected_increase_with_mean(loss, params, mean, cov, 2),
            instantiate(wrong, loss, params, cov, values),
            "missing μᵀHμ",
        )


def test_prediction_on_a_quadratic_with_skewed_noise() -> None:
    # L(w + ε) − L(w) = gᵀε + ½ εᵀHε exactly; ε = exponential noise (skewed, with a mean)
    g = np.array([0.3, -1.2, 0.5])
    h = np.array([[2.0, 0.4, 0.0], [0.4, 1.0, -0.3], [0.0, -0.3, 0.5]])
    eps = RNG.exponential([0.2, 0.1, 0.3], size=(DRAWS, 3)) - np.array([0.0, 0.15, 0.1])
    increase = eps @ g + 0.5 * np.einsum("ni,ij,nj->n", eps, h, eps)
    mu, cov = eps.mean(0), np.cov(eps.T, bias=True)
    predicted = delta_loss_with_mean(g @ mu, mu @ h @ mu, np.trace(h @ cov))
    assert float(predicted) == pytest.approx(increase.mean(), rel=1e-9)  # exact, same sample
    without_mean = 0.5 * np.trace(h @ cov)
    measured, se = mean_and_se(increase)
    assert abs(without_mean - measured) > 20 * se  # the mean terms are needed


@pytest.mark.parametrize("m, s", [(1.0, 0.3), (0.1, 0.26), (0.0, 0.26), (-0.2, 0.4)])
def test_rectified_moments_by_monte_carlo(m: float, s: float) -> None:
    first, second = (
        sp.lambdify((mean_noise.gauss_mean, mean_noise.gauss_std), e, "scipy")(m, s)
        for e in mean_noise.rectified_moments()
    )
    a = np.maximum(m + s * Z[0], 0.0)
    for k, claimed in ((1, first), (2, second)):
        measured, se = mean_and_se(a**k)
        assert abs(measured - claimed) < 5 * se


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("nu_mean, nu_std, log_time", [(0.049, 0.008, 14.3), (0.1, 0.045, 8.0), (0.06, 0.05, 14.3)])
def test_drift_moments_by_monte_carlo(k: int, nu_mean: float, nu_std: float, log_time: float) -> None:
    args = (mean_noise.power, mean_noise.nu_mean, mean_noise.nu_std, mean_noise.log_time)
    values = (k, nu_mean, nu_std, log_time)
    nu = nu_mean + nu_std * Z[1]
    for expr, draws in (
        (mean_noise.lognormal_drift_moment(), np.exp(-k * log_time * nu)),
        (mean_noise.folded_drift_moment(), np.exp(-k * log_time * np.abs(nu))),
    ):
        measured, se = mean_and_se(draws)
        assert abs(measured - sp.lambdify(args, expr, "scipy")(*values)) < 5 * se


def test_fold_matters_where_the_exponent_reaches_zero() -> None:
    args = (mean_noise.power, mean_noise.nu_mean, mean_noise.nu_std, mean_noise.log_time)
    values = (2, 0.06, 0.05, 14.3)
    lognormal, folded = (
        sp.lambdify(args, e, "scipy")(*values)
        for e in (mean_noise.lognormal_drift_moment(), mean_noise.folded_drift_moment())
    )
    assert lognormal > 1.05 * folded


@pytest.mark.parametrize(
    "target, prog_std, nu_mean, nu_std, read_std",
    [(20.0, 1.0, 0.049, 0.008, 0.05), (1.0, 0.5, 0.08, 0.03, 0.4), (0.0, 0.26, 0.1, 0.045, 0.9)],
)
def test_device_moments_by_monte_carlo(
    target: float, prog_std: float, nu_mean: float, nu_std: float, read_std: float
) -> None:
    log_time = 8.4
    g = (
        np.maximum(target + prog_std * Z[0], 0.0)
        * np.exp(-log_time * np.abs(nu_mean + nu_std * Z[1]))
        * np.maximum(1.0 + read_std * Z[2], 0.0)
    )
    first, second = pcm_device_moments(target, prog_std, nu_mean, nu_std, log_time, read_std)
    for draws, claimed in ((g, first), (g**2, second)):
        measured, se = mean_and_se(draws)
        assert abs(measured - claimed) < 5 * se


def test_weight_moments_by_monte_carlo() -> None:
    log_time, scale, alpha, w = 8.4, 0.02, 1.3, 0.3
    positive = (15.0, 0.9, 0.049, 0.008, 0.06)
    negative = (0.0, 0.26, 0.1, 0.045, 0.9)
    z = RNG.standard_normal((6, DRAWS))

    def device(params: tuple[float, ...], rows: np.ndarray) -> np.ndarray:
        g_t, s, m, sd, r = params
        return (
            np.maximum(g_t + s * rows[0], 0.0)
            * np.exp(-log_time * np.abs(m + sd * rows[1]))
            * np.maximum(1.0 + r * rows[2], 0.0)
        )

    eps = alpha * scale * (device(positive, z[:3]) - device(negative, z[3:])) - w
    mean, variance = pcm_weight_moments(w, scale, alpha, log_time, positive, negative)
    measured, se = mean_and_se(eps)
    assert abs(measured - mean) < 5 * se
    centred = eps - eps.mean()
    se_var = math.sqrt((np.mean(centred**4) - np.mean(centred**2) ** 2) / DRAWS)
    assert abs(np.mean(centred**2) - variance) < 5 * se_var


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="target must be >= 0"):
        pcm_device_moments(-1.0, 1.0, 0.05, 0.01, 1.0, 0.1)
    with pytest.raises(ValueError, match="prog_std must be > 0"):
        pcm_device_moments(1.0, 0.0, 0.05, 0.01, 1.0, 0.1)
    with pytest.raises(ValueError, match="log_time must be > 0"):
        pcm_device_moments(1.0, 1.0, 0.05, 0.01, 0.0, 0.1)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        pcm_weight_moments(0.1, 0.02, 0.0, 1.0, (1.0,) * 5, (1.0,) * 5)
