"""The expected loss increase under Gaussian weight noise, to a given order in the noise.

E_ε[L(w + ε) − L(w)], ε ~ N(0, Σ), is replaced by the expectation of the Taylor polynomial of total
order ≤ `order` (theory.taylor), each monomial's expectation taken by Isserlis' theorem
(theory.gaussian_moments). Odd orders vanish, so order 2k + 1 gives the same result as 2k; the
order-2k term scales as η^{2k} when Σ = η² Σ₁.

>>> import sympy as sp
>>> w, s = sp.symbols("w s", positive=True)
>>> expected_increase(sp.cos(w), [w], [[s**2]], order=4)
s**4*cos(w)/8 - s**2*cos(w)/2
"""

from collections.abc import Sequence

import sympy as sp

from theory.gaussian_moments import as_covariance, gaussian_expectation
from theory.taylor import check_loss_and_params, check_order, taylor_coefficients


def expected_increase(
    loss: sp.Expr, params: Sequence[sp.Symbol], cov: object, order: int = 2
) -> sp.Expr:
    """E over ε ~ N(0, cov) of the Taylor expansion of loss(params + ε) − loss(params).

    loss: sympy expression in the symbols `params` (and any others, kept symbolic).
    params: distinct sympy Symbols; the result is a function of them (the clean weights).
    cov: len(params) × len(params) symmetric matrix, symbolic or numeric.
    order: highest total order in ε kept, an integer ≥ 1.
    Raises ValueError naming the bad argument.
    """
    loss, params = check_loss_and_params(loss, params)
    order = check_order(order)
    cov = as_covariance(cov, len(params))
    return gaussian_expectation(taylor_coefficients(loss, params, order), cov)
