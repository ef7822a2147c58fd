"""The noise models (layer-relative, multiplicative, additive) as unit covariances Σ₁ (Σ(η) = η² Σ₁), and ΔL(η) for each.

All three Σ₁ are diagonal, σ_i² = (Σ₁)_ii, z_i ~ N(0, 1):
    layer-relative   w_i + η s_{l(i)} z_i   σ_i = s_{l(i)}, s_m the std of layer m's weight entries
    multiplicative   w_i (1 + η z_i)        σ_i = w_i
    additive         w_i + η z_i            σ_i = 1
For diagonal Σ₁ the closed forms reduce to ΔL(η) = a η² + b η⁴ + O(η⁶) with
    a = ½ Σ_i σ_i² H_ii = ½ tr(HΣ₁),   b = (1/8) Σ_ij σ_i² σ_j² T_iijj = (1/24) E_v[D⁴L[v, v, v, v]]
(the three pairings coincide). Each model's a and b are these with its σ_i substituted, checked
against expected_increase for a generic loss of three weights in two layers.
"""

from functools import lru_cache

import sympy as sp

from theory.checks import require_identity
from theory.expectation import expected_increase
from theory.notation import (
    H,
    T,
    eta,
    generic_loss,
    i,
    instantiate,
    j,
    layer,
    layer_std,
    n,
    s,
    sigma,
    w,
)

NOISE_MODELS = ("layer-relative", "multiplicative", "additive")
CHECK_LAYERS = (1, 1, 2)  # layer of each weight in the check

DIAGONAL_A = sp.Sum(sigma[i] ** 2 * H[i, i], (i, 1, n)) / 2
DIAGONAL_B = sp.Sum(sigma[i] ** 2 * sigma[j] ** 2 * T[i, i, j, j], (i, 1, n), (j, 1, n)) / 8


def _check_model(model: str) -> None:
    if model not in NOISE_MODELS:
        raise ValueError(f"model must be one of {NOISE_MODELS}. Got {model!r}.")


def unit_std(model: str, index: sp.Symbol) -> sp.Expr:
    """σ_index of the model in theory.notation: s[l(index)], w[index] or 1."""
    _check_model(model)
    stds = {
        "layer-relative": s[layer(index)],
        "multiplicative": w[index],
        "additive": sp.Integer(1),
    }
    return stds[model]


def unit_covariance(
    model: str, params: tuple[sp.Symbol, ...], layers: tuple[int, ...]
) -> sp.ImmutableMatrix:
    """Σ₁ of the model for weights `params`, weight a in layer layers[a] (1-based)."""
    _check_model(model)
    variances = {
        "layer-relative": [layer_std(m) ** 2 for m in layers],
        "multiplicative": [p**2 for p in params],
        "additive": [1] * len(params),
    }[model]
    return sp.ImmutableMatrix(sp.diag(*variances))


@lru_cache(maxsize=None)
def noise_model_coefficients(model: str) -> tuple[sp.Expr, sp.Expr]:
    """(a, b) of ΔL(η) = a η² + b η⁴ for the model, in theory.notation."""
    _check_model(model)
    stds = {sigma[i]: unit_std(model, i), sigma[j]: unit_std(model, j)}
    a, b = DIAGONAL_A.xreplace(stds), DIAGONAL_B.xreplace(stds)
    loss, params = generic_loss(len(CHECK_LAYERS))
    cov1 = unit_covariance(model, params, CHECK_LAYERS)
    increase = sp.expand(expected_increase(loss, params, eta**2 * cov1, order=4))
    layers = {layer(a + 1): m for a, m in enumerate(CHECK_LAYERS)}
    for power, coefficient in ((2, a), (4, b)):
        require_identity(
            increase.coeff(eta, power),
            instantiate(coefficient, loss, params, cov1, extra=layers),
            f"{model}: η^{power} coefficient of E[ΔL]",
        )
    return a, b
