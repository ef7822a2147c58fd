"""Multivariate Taylor expansion of a sympy expression, and its inputs checked at the door.

Convention: for weights w = params and a perturbation ε,
    L(w + ε) − L(w) = Σ_{1 ≤ |α| ≤ order} c_α ε^α + O(|ε|^{order+1}),   c_α = ∂^α L(w) / α!,
with α a multi-index (α_1, ..., α_n), ε^α = ∏ ε_i^{α_i} and α! = ∏ α_i!. The coefficients are
functions of the symbols `params` themselves (the expansion point is left symbolic).
"""

import operator
from collections.abc import Sequence
from itertools import combinations_with_replacement
from math import factorial, prod

import sympy as sp


def taylor_coefficients(
    loss: sp.Expr, params: Sequence[sp.Symbol], order: int
) -> dict[tuple[int, ...], sp.Expr]:
    """{α: c_α} for 1 ≤ |α| ≤ order, zero coefficients left out.

    Each derivative is taken once: ∂^α L for a sorted index multiset comes from its parent with
    the last index removed.
    """
    dim = len(params)
    derivatives: dict[tuple[int, ...], sp.Expr] = {(): loss}
    coefficients = {}
    for degree in range(1, order + 1):
        for multiset in combinations_with_replacement(range(dim), degree):
            derivative = sp.diff(derivatives[multiset[:-1]], params[multiset[-1]])
            derivatives[multiset] = derivative
            if derivative != 0:
                alpha = tuple(multiset.count(a) for a in range(dim))
                coefficients[alpha] = derivative / prod(factorial(a) for a in alpha)
    return coefficients


def directional_derivative(
    loss: sp.Expr, params: Sequence[sp.Symbol], direction: Sequence[sp.Expr], degree: int
) -> sp.Expr:
    """D^degree L(w)[v, ..., v] = (v·∇)^degree L at w = params, for a constant direction v."""
    result = loss
    for _ in range(degree):
        result = sum(v * sp.diff(result, p) for v, p in zip(direction, params))
    return sp.expand(result)


def check_loss_and_params(
    loss: object, params: object
) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """`loss` as a sympy expression and `params` as a tuple of distinct symbols, or ValueError."""
    if isinstance(params, sp.Symbol) or not isinstance(params, Sequence | sp.MatrixBase):
        raise ValueError(f"params must be a sequence of sympy Symbols. Got {params!r}.")
    params = tuple(params)
    if not params or not all(isinstance(p, sp.Symbol) for p in params):
        raise ValueError(f"params must be a non-empty sequence of sympy Symbols. Got {params!r}.")
    if len(set(params)) != len(params):
        raise ValueError(f"params must be distinct. Got {params!r}.")
    try:
        expr = sp.sympify(loss, strict=True)
    except sp.SympifyError as err:
        raise ValueError(f"loss must be a sympy expression. Got {loss!r}.") from err
    if not isinstance(expr, sp.Expr) or isinstance(expr, sp.MatrixExpr):
        raise ValueError(f"loss must be a scalar sympy expression. Got {loss!r}.")
    return expr, params


def check_order(order: object, minimum: int = 1) -> int:
    """`order` as an int ≥ minimum (bools and non-integers rejected), or ValueError."""
    if isinstance(order, bool):
        raise ValueError(f"order must be an integer >= {minimum}. Got {order!r}.")
    try:
        value = operator.index(order)
    except TypeError:
        raise ValueError(f"order must be an integer >= {minimum}. Got {order!r}.") from None
    if value < minimum:
        raise ValueError(f"order must be an integer >= {minimum}. Got {order!r}.")
    return value
