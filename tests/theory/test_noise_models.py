import numpy as np
import pytest
import sympy as sp

from theory.noise_models import (
    NOISE_MODELS,
    noise_model_coefficients,
    unit_covariance,
    unit_std,
)
from theory.notation import H, T, i, instantiate, j, layer, layer_std, n, s, w

x1, x2, x3 = X = sp.symbols("x_1:4", real=True)


def test_coefficients_per_model() -> None:
    a, b = noise_model_coefficients("additive")
    assert a == sp.Sum(H[i, i], (i, 1, n)) / 2
    assert b == sp.Sum(T[i, i, j, j], (i, 1, n), (j, 1, n)) / 8
    a, _ = noise_model_coefficients("multiplicative")
    assert a == sp.Sum(w[i] ** 2 * H[i, i], (i, 1, n)) / 2
    a, _ = noise_model_coefficients("layer-relative")
    assert a == sp.Sum(s[layer(i)] ** 2 * H[i, i], (i, 1, n)) / 2


def test_unit_covariance() -> None:
    assert unit_covariance("additive", X, (1, 1, 2)) == sp.eye(3)
    assert unit_covariance("multiplicative", X, (1, 1, 2)) == sp.diag(x1**2, x2**2, x3**2)
    s1, s2 = layer_std(1) ** 2, layer_std(2) ** 2
    assert unit_covariance("layer-relative", X, (1, 1, 2)) == sp.diag(s1, s1, s2)


@pytest.mark.parametrize("model", NOISE_MODELS)
def test_quartic_monte_carlo_per_model(model: str) -> None:
    # The derived ΔL(η) = a η² + b η⁴, exact for a quartic, against sampled noise of the model.
    loss = x1**2 * x2**2 + x1**3 * x3 - 2 * x2 * x3**2 + x3**4 + x1 * x2
    point = np.array([0.8, -0.6, 0.5])
    values = {**dict(zip(X, point)), layer_std(1): 0.7, layer_std(2): 0.4}
    layers = {layer(1): 1, layer(2): 1, layer(3): 2}
    cov1 = unit_covariance(model, X, (1, 1, 2))
    a, b = (
        float(instantiate(c, loss, X, cov1, extra=layers).subs(values))
        for c in noise_model_coefficients(model)
    )
    std = np.sqrt(np.diag(np.array(cov1.subs(values), float)))
    eta = 0.3
    f = sp.lambdify(X, loss, "numpy")
    z = np.random.default_rng(2).standard_normal((400_000, 3))
    noise = eta * std * z
    increase = (f(*(point + noise).T) + f(*(point - noise).T)) / 2 - f(*point)  # antithetic
    se = increase.std() / np.sqrt(len(increase))
    assert abs(increase.mean() - (a * eta**2 + b * eta**4)) < 4 * se
    assert abs(increase.mean() - a * eta**2) > 10 * se  # the η⁴ term is resolved


def test_unknown_model_raises() -> None:
    with pytest.raises(ValueError, match=r"model must be one of .* Got 'gaussian'"):
        noise_model_coefficients("gaussian")
    with pytest.raises(ValueError, match="model must be one of"):
        unit_std("relative", i)
