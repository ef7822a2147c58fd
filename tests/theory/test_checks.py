import pytest
import sympy as sp

from theory.checks import constant_ratio, require_identity

x, y = sp.symbols("x y")


def test_require_identity() -> None:
    require_identity((x + y) ** 2, x**2 + 2 * x * y + y**2, "binomial")
    with pytest.raises(ArithmeticError, match="derivation check failed: wrong"):
        require_identity((x + y) ** 2, x**2 + y**2, "wrong")


def test_constant_ratio() -> None:
    assert constant_ratio(3 * x * y + 3 * y**2, 2 * y * (x + y), "ratio") == sp.Rational(3, 2)
    with pytest.raises(ArithmeticError, match="not constant"):
        constant_ratio(x**2, x, "not constant")
