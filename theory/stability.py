"""Stability of gradient descent with heavy-ball momentum on a 1-D quadratic L = λ w² / 2.

The iteration w_{t+1} = w_t − lr λ w_t + β (w_t − w_{t−1}) is linear; with w_t = z^t it holds iff
z solves the characteristic polynomial p(z) = z² − (1 + β − lr λ) z + β (plain GD: z − (1 − lr λ)).
The iteration converges for every start iff every root has |z| < 1 (Schur stability). The Möbius
map z = (1 + s)/(1 − s) takes the open unit disk onto the open left half-plane, so p is Schur
stable iff q(s) = (1 − s)^d p((1 + s)/(1 − s)) is Hurwitz stable; for degree d ≤ 2 and monic p that
holds iff every coefficient of q is positive (Routh–Hurwitz; for monic p, q(0) = p(1) > 0 is
necessary since p(z) → +∞ as z → ∞). Solving these for λ gives 0 < λ < 2(1 + β)/lr when
0 ≤ β < 1 (the coefficient 2 − 2β), and 0 < λ < 2/lr for plain GD: the largest curvature a run can
stay in shrinks as lr grows.
"""

from functools import lru_cache

import sympy as sp

from theory.checks import require_identity
from theory.notation import beta, lam, lr, z

def characteristic_polynomial(momentum: sp.Expr) -> sp.Poly:
    """p(z) of w_{t+1} = w_t − lr λ w_t + momentum (w_t − w_{t−1}), from the ansatz w_t = z^t.

    With momentum 0 the iteration has one step of memory and p has degree 1.
    """
    w_next, w_now, w_prev = z**2, z, sp.Integer(1)  # w_{t+1}, w_t, w_{t−1} divided by z^{t−1}
    recurrence = w_next - (w_now - lr * lam * w_now + momentum * (w_now - w_prev))
    if momentum == 0:
        recurrence = sp.cancel(recurrence / z)
    return sp.Poly(recurrence, z)


def schur_conditions(poly: sp.Poly) -> list[sp.Expr]:
    """Expressions that must all be positive for every root of the monic `poly` (degree ≤ 2) to
    lie strictly inside the unit circle: the coefficients of (1 − s)^d p((1 + s)/(1 − s))."""
    degree = poly.degree()
    if degree not in (1, 2) or poly.LC() != 1:
        raise ValueError(f"poly must be monic of degree 1 or 2. Got {poly.as_expr()}.")
    s = sp.Symbol("s")
    mapped = sp.cancel((1 - s) ** degree * poly.as_expr().subs(z, (1 + s) / (1 - s)))
    return [sp.factor(c) for c in sp.Poly(mapped, s).all_coeffs()]


def curvature_bound(poly: sp.Poly) -> sp.Expr:
    """The upper bound on λ from the Schur conditions of `poly` (lr > 0, 0 ≤ β < 1); the
    conditions must also give the lower bound λ > 0, or ArithmeticError."""
    lower, upper = [], []
    for condition in schur_conditions(poly):
        if lam not in condition.free_symbols:
            continue  # a condition on β alone: 2 − 2β > 0
        solved = sp.solve(condition > 0, lam)
        if isinstance(solved, sp.StrictLessThan) and solved.lhs == lam:
            upper.append(sp.factor(solved.rhs))
        elif isinstance(solved, sp.StrictGreaterThan) and solved.lhs == lam:
            lower.append(solved.rhs)
    if lower != [0] or len(upper) != 1:
        raise ArithmeticError(f"expected 0 < λ < bound, got lower {lower}, upper {upper}")
    return upper[0]


@lru_cache(maxsize=None)
def heavy_ball_bound() -> sp.Expr:
    """2(1 + β)/lr, derived; checked to reduce at β = 0 to plain GD's bound 2/lr, which is derived
    from GD's own (degree-1) characteristic polynomial."""
    bound = curvature_bound(characteristic_polynomial(beta))
    require_identity(
        bound.subs(beta, 0), gd_bound(), "heavy-ball bound at β = 0 is plain GD's bound"
    )
    return bound


@lru_cache(maxsize=None)
def gd_bound() -> sp.Expr:
    """2/lr, derived from z − (1 − lr λ)."""
    return curvature_bound(characteristic_polynomial(sp.Integer(0)))
