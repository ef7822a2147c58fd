import numpy as np
import pytest
import sympy as sp

from theory.notation import eta, grad_cov_grad, hsigma_sq_trace
from theory.variance import variance_closed_forms, variance_in_noise_level, variance_of_increase

X = sp.symbols("x_1:3", real=True)
COV = np.array([[0.5, -0.2], [-0.2, 0.3]])


def _monte_carlo_variance(loss: sp.Expr, point: np.ndarray, seed: int) -> tuple[float, float]:
    """Sample variance of loss(point + ε) − loss(point) and its standard error (n = 400,000)."""
    f = sp.lambdify(X, loss, "numpy")
    eps = np.random.default_rng(seed).multivariate_normal(np.zeros(2), COV, size=400_000)
    increase = f(*(point + eps).T) - f(*point)
    centred = (increase - increase.mean()) ** 2
    return centred.mean(), centred.std() / np.sqrt(len(centred))


def test_quadratic_variance_is_exact() -> None:
    loss = 2 * X[0] ** 2 - 3 * X[0] * X[1] + X[1] ** 2 + X[0] - 4 * X[1]
    point = np.array([0.3, -0.2])
    g = np.array([float(sp.diff(loss, x).subs(dict(zip(X, point)))) for x in X])
    hess = np.array(sp.hessian(loss, X), float)
    closed = g @ COV @ g + 0.5 * np.trace(hess @ COV @ hess @ COV)
    got = float(variance_of_increase(loss, X, sp.Matrix(COV)).subs(dict(zip(X, point))))
    assert got == pytest.approx(closed, rel=1e-12)
    measured, se = _monte_carlo_variance(loss, point, seed=3)
    assert abs(measured - closed) < 4 * se


def test_variance_at_a_minimum_is_half_trace_hsigma_squared() -> None:
    # g = 0 at the origin: the third-derivative term vanishes and ½ tr((HΣ)²) leads.
    loss = X[0] ** 2 + X[0] * X[1] + 2 * X[1] ** 2 + X[0] ** 3 - X[1] ** 3 * X[0]
    hess = np.array(sp.hessian(loss, X).subs(dict.fromkeys(X, 0)), float)
    leading = 0.5 * np.trace(hess @ COV @ hess @ COV)
    got = float(variance_of_increase(loss, X, sp.Matrix(COV)).subs(dict.fromkeys(X, 0)))
    assert got == pytest.approx(leading, rel=1e-12)


def test_third_derivative_term_away_from_a_minimum() -> None:
    loss = X[0] ** 3 + X[1]
    x0, t = sp.symbols("x0 t")
    cov = sp.Matrix([[t, 0], [0, 0]])
    got = variance_of_increase(loss, X, cov).subs(X[0], x0)
    # g = (3x0², 1), H_11 = 6x0, K_111 = 6, so gᵀΣg = 9x0⁴t, ½ tr((HΣ)²) = 18x0²t² and
    # g_1 Σ_11 K_111 Σ_11 = 18x0²t².
    assert sp.expand(got - (9 * x0**4 * t + 36 * x0**2 * t**2)) == 0


def test_closed_forms_and_noise_level_form() -> None:
    leading, third = variance_closed_forms()
    assert leading.has(sp.Trace) and third.has(sp.Sum)
    assert variance_in_noise_level() == eta**2 * grad_cov_grad + eta**4 * hsigma_sq_trace / 2


def test_order_must_be_at_least_two() -> None:
    with pytest.raises(ValueError, match="order must be an integer >= 2. Got 1"):
        variance_of_increase(X[0], X, sp.eye(2), order=1)
