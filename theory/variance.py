"""Variance of the loss increase under Gaussian weight noise, from the same Taylor expansion.

ΔL = L(w + ε) − L(w) is replaced by its Taylor polynomial and Var_ε[ΔL] keeps every term of total
order ≤ `order` in ε (order 4 is O(η⁴) when Σ = η² Σ₁). For a generic loss, to order 4:
    Var[ΔL] = gᵀΣg + ½ tr((HΣ)²) + Σ_ijkl g_i Σ_ij K_jkl Σ_kl.
The first two terms are the exact variance for a quadratic loss and the leading order in general:
η² gᵀΣ₁g where g ≠ 0, and η⁴ ½ tr((HΣ₁)²) at a stationary point (g = 0), where the
third-derivative term, otherwise also O(η⁴), vanishes.
"""

from collections.abc import Sequence
from functools import lru_cache

import sympy as sp

from theory.checks import constant_ratio, require_identity
from theory.gaussian_moments import as_covariance, gaussian_expectation, monomial_moment
from theory.notation import (
    H_matrix,
    K,
    Sigma,
    Sigma_matrix,
    eta,
    g,
    grad_cov_grad,
    generic_loss,
    hsigma_sq_trace,
    i,
    instantiate,
    j,
    k,
    l,
    n,
    quadratic_loss,
    shifted,
    symmetric_matrix,
)
from theory.taylor import check_loss_and_params, check_order, taylor_coefficients

CHECK_DIMS = (1, 2, 3)

GRAD_COV_GRAD = sp.Sum(g[i] * Sigma[i, j] * g[j], (i, 1, n), (j, 1, n))
TRACE_HSIGMA_SQ = sp.Trace((H_matrix * Sigma_matrix) ** 2)
VARIANCE_LEADING = GRAD_COV_GRAD + TRACE_HSIGMA_SQ / 2
VARIANCE_THIRD_ORDER_TERM = sp.Sum(
    g[i] * Sigma[i, j] * K[j, k, l] * Sigma[k, l], (i, 1, n), (j, 1, n), (k, 1, n), (l, 1, n)
)


def variance_of_increase(
    loss: sp.Expr, params: Sequence[sp.Symbol], cov: object, order: int = 4
) -> sp.Expr:
    """Var over ε ~ N(0, cov) of loss(params + ε) − loss(params), to total order `order` in ε.

    E[P²] − E[P]² for the Taylor polynomial P of degree order − 1, keeping only products of total
    degree ≤ order (order ≥ 2). Arguments as in theory.derive.expected_increase.
    """
    loss, params = check_loss_and_params(loss, params)
    order = check_order(order, minimum=2)
    cov = as_covariance(cov, len(params))
    terms = list(taylor_coefficients(loss, params, order - 1).items())
    second_moment = sp.Add(
        *(
            ca * cb * monomial_moment(tuple(x + y for x, y in zip(a, b)), cov)
            for a, ca in terms
            for b, cb in terms
            if sum(a) + sum(b) <= order
        )
    )
    means = [
        gaussian_expectation({a: c for a, c in terms if sum(a) == d}, cov) for d in range(order)
    ]
    mean_squared = sp.Add(
        *(m1 * m2 for d1, m1 in enumerate(means) for d2, m2 in enumerate(means) if d1 + d2 <= order)
    )
    return second_moment - mean_squared


@lru_cache(maxsize=None)
def variance_closed_forms() -> tuple[sp.Expr, sp.Expr]:
    """(gᵀΣg + ½ tr((HΣ)²), Σ g_i Σ_ij K_jkl Σ_kl), checked: their sum is variance_of_increase
    to order 4 for a generic loss, and the first is the exact variance for a quadratic loss."""
    for dim in CHECK_DIMS:
        loss, params = generic_loss(dim)
        cov = symmetric_matrix("Sigma", dim)
        require_identity(
            variance_of_increase(loss, params, cov, order=4),
            instantiate(VARIANCE_LEADING + VARIANCE_THIRD_ORDER_TERM, loss, params, cov),
            f"Var[ΔL] to order 4 (n = {dim})",
        )
    dim = CHECK_DIMS[-1]
    loss, params = quadratic_loss(dim)
    eps = sp.symbols(f"epsilon_1:{dim + 1}", real=True)
    cov = symmetric_matrix("Sigma", dim)
    increase = sp.Poly(sp.expand(shifted(loss, params, eps) - loss), *eps)
    exact = gaussian_expectation((increase**2).as_dict(), cov) - gaussian_expectation(
        increase.as_dict(), cov
    ) ** 2
    require_identity(
        instantiate(VARIANCE_LEADING, loss, params, cov), exact, "quadratic: exact Var[ΔL]"
    )
    return VARIANCE_LEADING, VARIANCE_THIRD_ORDER_TERM


@lru_cache(maxsize=None)
def variance_in_noise_level() -> sp.Expr:
    """Var[ΔL](η) = η² gᵀΣ₁g + ½ η⁴ tr((HΣ₁)²) in measured quantities; the factors are the
    ratios of the quadratic loss's exact η² and η⁴ coefficients (n = 2, full Σ₁) to them."""
    loss, params = quadratic_loss(2)
    cov1 = symmetric_matrix("S", 2)
    variance = sp.expand(variance_of_increase(loss, params, eta**2 * cov1, order=4))
    result = sp.Integer(0)
    measured = ((2, grad_cov_grad, GRAD_COV_GRAD), (4, hsigma_sq_trace, TRACE_HSIGMA_SQ))
    for power, symbol, formula in measured:
        coefficient = variance.coeff(eta, power)
        value = instantiate(formula, loss, params, cov1)
        ratio = constant_ratio(coefficient, value, f"η^{power} coefficient ∝ {symbol}")
        result += ratio * symbol * eta**power
        variance -= coefficient * eta**power
    require_identity(variance, 0, "Var[ΔL] has only the powers η² and η⁴")
    return result

