import numpy as np
import pytest
import sympy as sp
from scipy import integrate

from theory import kinks
from theory.checks import require_identity
from theory.notation import Phi, negative_slope, phi, pre, pre_std
from theory.predict import (
    activation_kinks,
    delta_loss_with_kinks,
    kink_bracket,
    kink_term,
    max_pool_bracket,
)

DRAWS = 400_000
Z = np.random.default_rng(12).standard_normal(DRAWS)
PRE = np.array([-1.2, -0.3, 0.0, 0.2, 0.9])


def _mean_and_se(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over axis 0 and its standard error."""
    return samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(len(samples))


def _kink_excess(f, slope, a: np.ndarray, s: float) -> tuple[np.ndarray, np.ndarray]:
    """E[f(a + δ) − f(a)] by Monte Carlo, δ ~ N(0, s²), with f'(a) δ (mean 0) as control variate."""
    delta = s * Z[:, None]
    return _mean_and_se(f(a + delta) - f(a) - slope(a) * delta)


ACTIVATION_CASES = {
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x >= 0) * 1.0),
    "leaky_relu": (lambda x: np.where(x >= 0, x, 0.1 * x), lambda x: np.where(x >= 0, 1.0, 0.1)),
    "hardtanh": (lambda x: np.clip(x, -1.0, 1.0), lambda x: (np.abs(x) <= 1) * 1.0),
}


@pytest.mark.parametrize("name", ACTIVATION_CASES)
@pytest.mark.parametrize("s", [0.3, 0.8])
def test_unit_bracket_against_monte_carlo(name: str, s: float) -> None:
    f, slope = ACTIVATION_CASES[name]
    mean, se = _kink_excess(f, slope, PRE, s)
    kink_list = activation_kinks(name, negative_slope=0.1)
    predicted = np.array([kink_term(1.0, a, s, 1.0, kink_list) for a in PRE])
    assert np.all(np.abs(mean - predicted) < 4 * se + 1e-12)
    near = np.abs(predicted) > 0.05
    assert near.any() and np.all(np.abs(mean[near]) > 10 * se[near])  # the Hessian's 0 fails


def test_kink_bracket_of_relu_is_the_excess_mean() -> None:
    mean, se = _kink_excess(*ACTIVATION_CASES["relu"], PRE, 0.5)
    assert np.all(np.abs(mean - kink_bracket(PRE, 0.5)) < 4 * se)


def test_max_pool_of_correlated_gaussians() -> None:
    rng = np.random.default_rng(3)
    std_a, std_b, cov = 0.6, 0.4, -0.1
    chol = np.linalg.cholesky([[std_a**2, cov], [cov, std_b**2]])
    noise = rng.standard_normal((DRAWS, 2)) @ chol.T
    for a, b in [(0.1, 0.0), (-0.3, 0.4), (1.0, 0.2)]:
        excess = np.maximum(a + noise[:, 0], b + noise[:, 1]) - max(a, b)
        control = noise[:, 0] if a >= b else noise[:, 1]  # mean 0
        mean, se = _mean_and_se(excess - control)
        assert abs(mean - max_pool_bracket(a, b, std_a, std_b, cov)) < 4 * se
    with pytest.raises(ValueError, match="must be >= 0"):
        max_pool_bracket(0.0, 0.0, 0.6, 0.4, 0.5)


@pytest.mark.parametrize("s", [0.3, 1.0, 2.5])
def test_bracket_integrates_to_half_the_variance(s: float) -> None:
    value, error = integrate.quad(lambda a: float(kink_bracket(a, s)), -np.inf, np.inf)
    assert value == pytest.approx(s**2 / 2, abs=10 * error + 1e-10)


def test_density_averaged_bracket_is_order_s_squared() -> None:
    # p = N(0.3, 0.7²), kink at c = 0: ½ p(c) s² + ⅛ p''(c) s⁴, error O(s⁶).
    mean, sd, c = 0.3, 0.7, 0.0
    x = (c - mean) / sd
    p = np.exp(-(x**2) / 2) / (sd * np.sqrt(2 * np.pi))
    p2 = (x**2 - 1) / sd**2 * p
    for s in (0.05, 0.1, 0.2):
        value, error = integrate.quad(
            lambda a: float(kink_bracket(a - c, s)) * np.exp(-((a - mean) ** 2) / (2 * sd**2))
            / (sd * np.sqrt(2 * np.pi)),
            -np.inf,
            np.inf,
            epsabs=1e-13,
        )
        series = p * s**2 / 2 + p2 * s**4 / 8
        assert abs(value - series) < s**6 + 10 * error
        assert abs(value - p * s**2 / 2) > 0.1 * abs(p2) * s**4 / 8


def test_bracket_symmetric_positive_and_exponentially_small_off_the_kink() -> None:
    a = np.linspace(-5, 5, 201)
    np.testing.assert_array_equal(kink_bracket(a, 0.7), kink_bracket(-a, 0.7))
    assert kink_bracket(0.0, 2.0) == pytest.approx(2.0 / np.sqrt(2 * np.pi), rel=1e-14)
    # 0 < B(a, s) < s³ φ(a/s)/a² while |a|/s keeps B above float64's smallest normal number
    for s in (0.1, 0.5):
        off = a[(a != 0) & (np.abs(a) / s < 30)]
        bound = s**3 * np.exp(-((off / s) ** 2) / 2) / (np.sqrt(2 * np.pi) * off**2)
        value = kink_bracket(off, s)
        assert np.all(value > 0) and np.all(value < bound)
    # with s = η τ a unit off its kink vanishes faster than any power of η: B/η⁶ → 0
    eta = np.array([0.2, 0.1, 0.05, 0.025])
    ratio = kink_bracket(0.5, eta * 1.0) / eta**6
    assert np.all(np.diff(ratio) < 0) and ratio[-1] < 1e-60


def test_zero_noise_and_bad_input() -> None:
    assert kink_bracket(0.0, 0.0) == 0.0 and kink_bracket(-2.0, 0.0) == 0.0
    assert kink_bracket(1.0, 1e-300) == 0.0 and kink_bracket(0.0, 1e-300) > 0
    np.testing.assert_array_equal(kink_term([0.0, 0.0], PRE, 1.0, 1.0), [0.0, 0.0])
    with pytest.raises(ValueError, match="std must be >= 0"):
        kink_bracket(0.0, -1.0)
    with pytest.raises(ValueError, match="unit_std must be >= 0"):
        kink_term(0.1, 0.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="kinks must be"):
        kink_term(0.1, 0.0, 1.0, 1.0, kinks=[])
    with pytest.raises(ValueError, match="name must be one of"):
        activation_kinks("gelu")


def test_prediction_on_a_one_layer_relu_network() -> None:
    # L(W) = mean_n Σ_k v_k relu(W x_n)_k + ½ q ‖W‖², noise W + η σ Z: the prediction is exact.
    rng = np.random.default_rng(5)
    samples, inputs, units, sigma, q, eta = 20, 3, 5, 0.4, 0.7, 0.8
    x, w = rng.standard_normal((samples, inputs)), rng.standard_normal((units, inputs))
    v = rng.standard_normal(units)
    pre_act = x @ w.T
    grad = np.broadcast_to(v / samples, pre_act.shape)  # ∂L/∂h_nk
    tau = sigma * np.linalg.norm(x, axis=1)[:, None] * np.ones(units)
    noise = eta * sigma * rng.standard_normal((20_000, units, inputs))
    delta_pre = np.einsum("nd,rkd->rnk", x, noise)
    excess = np.maximum(pre_act + delta_pre, 0) - np.maximum(pre_act, 0) - (pre_act > 0) * delta_pre
    increase = np.einsum("rnk,nk->r", excess, grad) + q * (noise**2).sum(axis=(1, 2)) / 2
    mean, se = _mean_and_se(increase)
    noise_trace = q * sigma**2 * units * inputs
    kink = kink_term(eta, pre_act, tau, grad)
    assert abs(mean - delta_loss_with_kinks(eta, noise_trace, kink)) < 4 * se
    assert abs(mean - delta_loss_with_kinks(eta, noise_trace, 0.0)) > 10 * se
    levels = np.array([0.0, 0.5, 1.0])
    with_kinks = delta_loss_with_kinks(levels, noise_trace, kink_term(levels, pre_act, tau, grad))
    assert with_kinks.shape == (3,) and with_kinks[0] == 0.0


def test_derivations_give_the_stated_forms() -> None:
    s, a = pre_std, pre
    assert kinks.kink_bracket() == s * phi(a / s) - sp.Abs(a) * Phi(-sp.Abs(a) / s)
    assert kinks.kink_bracket_integral() == s**2 / 2
    assert kinks.kink_bracket_tail_bound() == s**3 * phi(a / s) / a**2
    assert kinks.density_kink_term().removeO() == kinks.DENSITY_KINK
    bracket = sp.Function("B")
    assert kinks.activation_bracket("relu") == bracket(a, s)
    assert sp.expand(kinks.activation_bracket("leaky_relu")) == sp.expand(
        (1 - negative_slope) * bracket(a, s)
    )
    assert kinks.activation_bracket("hardtanh") == bracket(a + 1, s) - bracket(a - 1, s)
    assert kinks.max_pool_bracket() == kinks.MAX_POOL_BRACKET
    assert kinks.kink_prediction().has(kinks.KINK_TERM)


def test_checks_fail_on_wrong_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    s, a = pre_std, pre
    with pytest.raises(ArithmeticError, match="a < 0"):
        kinks.check_kink_bracket(s * phi(a / s) - a * Phi(-a / s))  # |a| dropped
    with pytest.raises(ArithmeticError, match="derivation check failed"):
        kinks.check_kink_bracket(s * phi(a / s) / 2 - sp.Abs(a) * Phi(-sp.Abs(a) / s))
    with pytest.raises(ArithmeticError, match="derivation check failed"):
        kinks.require_gaussian_identity(kinks.KINK_BRACKET, kinks.SMOOTHED_RELU - a, "B = E − a")
    with pytest.raises(ArithmeticError):
        require_identity(sp.Integer(2) * kinks.kink_bracket_integral(), s**2 / 2, "∫ B = s²")
    definition, _ = kinks.ACTIVATIONS["leaky_relu"]
    wrong = (negative_slope * a, ((0, 1 + negative_slope),))
    monkeypatch.setitem(kinks.ACTIVATIONS, "leaky_relu", (definition, wrong))
    with pytest.raises(ArithmeticError, match="leaky_relu at a"):
        kinks.activation_decomposition.__wrapped__("leaky_relu")
