import pytest
import sympy as sp

from theory.taylor import (
    check_loss_and_params,
    check_order,
    directional_derivative,
    taylor_coefficients,
)

x, y = sp.symbols("x y")
ex, ey = sp.symbols("e_x e_y")


def _polynomial(coefficients: dict[tuple[int, ...], sp.Expr]) -> sp.Expr:
    return sum(c * ex ** alpha[0] * ey ** alpha[1] for alpha, c in coefficients.items())


def test_taylor_polynomial_reproduces_a_polynomial_exactly() -> None:
    loss = x**3 * y - 2 * x * y**2 + 5 * y + x**2 * y**2
    increase = sp.expand(loss.subs({x: x + ex, y: y + ey}, simultaneous=True) - loss)
    assert sp.expand(_polynomial(taylor_coefficients(loss, (x, y), 4)) - increase) == 0
    truncated = _polynomial(taylor_coefficients(loss, (x, y), 2))
    assert sp.Poly(sp.expand(truncated), ex, ey).total_degree() == 2


def test_taylor_coefficients_of_exp() -> None:
    coefficients = taylor_coefficients(sp.exp(x + 2 * y), (x, y), 3)
    assert coefficients[(2, 1)] == 2 * sp.exp(x + 2 * y) / 2
    assert coefficients[(0, 3)] == 8 * sp.exp(x + 2 * y) / 6
    assert len(coefficients) == 2 + 3 + 4


def test_directional_derivative() -> None:
    v = sp.symbols("v_1 v_2")
    assert directional_derivative(x**4, (x, y), v, 4) == 24 * v[0] ** 4
    got = directional_derivative(x**2 * y**2, (x, y), v, 4)
    assert sp.expand(got - 24 * v[0] ** 2 * v[1] ** 2) == 0
    assert directional_derivative(x * y, (x, y), v, 3) == 0


@pytest.mark.parametrize("order", [0, -2, 1.5, "2", True, None])
def test_check_order_rejects(order: object) -> None:
    with pytest.raises(ValueError, match=r"order must be an integer >= 1\. Got"):
        check_order(order)


def test_check_order_accepts_integers() -> None:
    assert check_order(3) == 3
    assert check_order(sp.Integer(4)) == 4


@pytest.mark.parametrize(
    "loss, params, message",
    [
        (x, x, "sequence of sympy Symbols"),
        (x, [], "non-empty"),
        (x, [x, 2], "non-empty sequence of sympy Symbols"),
        (x, [x, x], "distinct"),
        ("x**2", [x], "loss must be a sympy expression"),
        (sp.Matrix([x]), [x], "loss must be"),
    ],
)
def test_check_loss_and_params_rejects(loss: object, params: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_loss_and_params(loss, params)
