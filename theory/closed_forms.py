"""Closed forms of the expected loss increase in the derivative tensors, and ΔL(η) = a η² + b η⁴.

Each closed form is written in theory.notation and checked against `expected_increase` for a
generic smooth loss L(w_1, ..., w_d) (an undefined function) and a generic symmetric Σ,
d = 1, 2, 3: identities between derivatives of an undefined function hold for every loss.
"""

from functools import lru_cache

import sympy as sp

from theory.checks import constant_ratio, require_identity
from theory.expectation import expected_increase
from theory.gaussian_moments import gaussian_expectation
from theory.notation import (
    H_matrix,
    Sigma,
    Sigma_matrix,
    T,
    eta,
    fourth_moment,
    generic_loss,
    i,
    instantiate,
    j,
    k,
    l,
    n,
    noise_trace,
    quadratic_loss,
    shifted,
    symmetric_matrix,
)
from theory.taylor import directional_derivative

CHECK_DIMS = (1, 2, 3)

TRACE_H_SIGMA = sp.Trace(H_matrix * Sigma_matrix)
SECOND_ORDER = TRACE_H_SIGMA / 2
FOURTH_ORDER_TERM = (
    sp.Sum(
        T[i, j, k, l]
        * (Sigma[i, j] * Sigma[k, l] + Sigma[i, k] * Sigma[j, l] + Sigma[i, l] * Sigma[j, k]),
        (i, 1, n),
        (j, 1, n),
        (k, 1, n),
        (l, 1, n),
    )
    / 24
)


@lru_cache(maxsize=None)
def second_order() -> sp.Expr:
    """½ tr(HΣ), checked equal to expected_increase(order=2)."""
    for dim in CHECK_DIMS:
        loss, params = generic_loss(dim)
        cov = symmetric_matrix("Sigma", dim)
        require_identity(
            expected_increase(loss, params, cov, order=2),
            instantiate(SECOND_ORDER, loss, params, cov),
            f"E[ΔL] to second order is tr(HΣ)/2 (n = {dim})",
        )
    return SECOND_ORDER


@lru_cache(maxsize=None)
def fourth_order_term() -> sp.Expr:
    """(1/24) Σ T_ijkl (Σ_ij Σ_kl + Σ_ik Σ_jl + Σ_il Σ_jk), checked equal to the difference of
    expected_increase at orders 4 and 2; also checks that the third order adds nothing."""
    for dim in CHECK_DIMS:
        loss, params = generic_loss(dim)
        cov = symmetric_matrix("Sigma", dim)
        second, third, fourth = (expected_increase(loss, params, cov, order=o) for o in (2, 3, 4))
        require_identity(third, second, f"the third-order term vanishes (n = {dim})")
        require_identity(
            fourth - second,
            instantiate(FOURTH_ORDER_TERM, loss, params, cov),
            f"the fourth-order term is the three-pairing sum over T (n = {dim})",
        )
    return FOURTH_ORDER_TERM


@lru_cache(maxsize=None)
def quadratic_exactness() -> sp.Expr:
    """½ tr(HΣ), checked to be the exact E[L(w + ε) − L(w)] for L = c + gᵀw + ½ wᵀHw.

    The exact increase is a polynomial in ε, so its exact expectation is the sum of its monomials'
    Gaussian moments; it must equal expected_increase at orders 2 and 6 and the closed form.
    """
    dim = CHECK_DIMS[-1]
    loss, params = quadratic_loss(dim)
    eps = sp.symbols(f"epsilon_1:{dim + 1}", real=True)
    cov = symmetric_matrix("Sigma", dim)
    increase = sp.expand(shifted(loss, params, eps) - loss)
    exact = gaussian_expectation(sp.Poly(increase, *eps).as_dict(), cov)
    for order in (2, 6):
        require_identity(
            expected_increase(loss, params, cov, order=order),
            exact,
            f"for a quadratic loss the order-{order} expansion is exact",
        )
    require_identity(
        instantiate(SECOND_ORDER, loss, params, cov), exact, "quadratic: E[ΔL] = tr(HΣ)/2"
    )
    return SECOND_ORDER


@lru_cache(maxsize=None)
def noise_level_expansion(order: int) -> sp.Expr:
    """E[ΔL](η) for Σ = η² Σ₁ in measured quantities, to order 2 or 4 in η.

    Order 2: a η² with a = ½ tr(HΣ₁); order 4 adds b η⁴ with b = (1/24) E_v[D⁴L(w)[v, v, v, v]],
    v ~ N(0, Σ₁). The factors ½ and 1/24 are derived, not typed: each is the ratio of
    expected_increase's η^{2m} coefficient (generic loss, n = 2, full Σ₁) to the measured
    quantity, which must cancel to a number.
    """
    if order not in (2, 4):
        raise ValueError(f"order must be 2 or 4. Got {order!r}.")
    loss, params = generic_loss(2)
    cov1 = symmetric_matrix("S", 2)
    increase = sp.expand(expected_increase(loss, params, eta**2 * cov1, order=order))
    v = sp.symbols("v_1:3", real=True)
    d4 = sp.Poly(directional_derivative(loss, params, v, 4), *v).as_dict()
    measured = {
        2: (noise_trace, instantiate(TRACE_H_SIGMA, loss, params, cov1)),
        4: (fourth_moment, gaussian_expectation(d4, cov1)),
    }
    result = sp.Integer(0)
    for power in range(2, order + 1, 2):
        symbol, value = measured[power]
        coefficient = increase.coeff(eta, power)
        ratio = constant_ratio(coefficient, value, f"η^{power} coefficient ∝ {symbol}")
        result += ratio * symbol * eta**power
        increase -= coefficient * eta**power
    require_identity(increase, 0, f"E[ΔL] to order {order} has only the powers η², ..., η^{order}")
    return result
