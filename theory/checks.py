"""Symbolic checks that a derivation step holds; a failed check raises, it is never skipped."""

import sympy as sp


def require_identity(lhs: sp.Expr, rhs: sp.Expr, claim: str) -> None:
    """Raise ArithmeticError(claim) unless lhs − rhs expands to 0."""
    if sp.expand(lhs - rhs) != 0:
        raise ArithmeticError(f"derivation check failed: {claim}")


def constant_ratio(numerator: sp.Expr, denominator: sp.Expr, claim: str) -> sp.Rational:
    """numerator / denominator, which must cancel to a rational number, else ArithmeticError."""
    ratio = sp.cancel(sp.expand(numerator) / sp.expand(denominator))
    if not ratio.is_Rational:
        raise ArithmeticError(f"derivation check failed: {claim} (ratio {ratio})")
    return ratio
