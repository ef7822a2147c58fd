import numpy as np
import pytest
import sympy as sp

from theory.notation import beta, lam, lr, z
from theory.predict import stability_bound
from theory.stability import (
    characteristic_polynomial,
    curvature_bound,
    gd_bound,
    heavy_ball_bound,
    schur_conditions,
)


def _heavy_ball_final(curvature: float, rate: float, momentum: float, steps: int = 1000) -> float:
    """|w_T| of heavy ball on L = curvature · w² / 2 from w_0 = w_1 = 1."""
    prev, now = 1.0, 1.0
    for _ in range(steps):
        prev, now = now, now - rate * curvature * now + momentum * (now - prev)
    return abs(now)


def test_derived_bounds() -> None:
    assert sp.simplify(heavy_ball_bound() - 2 * (1 + beta) / lr) == 0
    assert gd_bound() == 2 / lr
    expected = z**2 - (1 + beta - lr * lam) * z + beta
    assert sp.expand(characteristic_polynomial(beta).as_expr() - expected) == 0
    assert sp.expand(characteristic_polynomial(sp.Integer(0)).as_expr() - (z - 1 + lr * lam)) == 0


@pytest.mark.parametrize("rate", [0.01, 0.1, 1.0])
@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_simulation_converges_below_and_diverges_above(rate: float, momentum: float) -> None:
    bound = float(stability_bound(rate, momentum))
    assert _heavy_ball_final(0.98 * bound, rate, momentum) < 1e-8
    assert _heavy_ball_final(1.02 * bound, rate, momentum) > 1e8
    assert _heavy_ball_final(-0.02 * bound, rate, momentum) > 1.0  # λ > 0 is needed too


@pytest.mark.parametrize("momentum", [0.0, 0.3, 0.9])
def test_spectral_radius_is_one_at_the_bound(momentum: float) -> None:
    rate = 0.1
    lam_star = float(stability_bound(rate, momentum))
    companion = np.array([[1 + momentum - rate * lam_star, -momentum], [1.0, 0.0]])
    assert np.max(np.abs(np.linalg.eigvals(companion))) == pytest.approx(1.0, abs=1e-9)


def test_schur_conditions_rejects_high_degree_or_non_monic() -> None:
    with pytest.raises(ValueError, match="monic of degree 1 or 2. Got z\\*\\*3"):
        schur_conditions(sp.Poly(z**3 - z, z))
    with pytest.raises(ValueError, match="monic"):
        schur_conditions(sp.Poly(2 * z**2 + 1, z))


def test_curvature_bound_of_a_polynomial_with_no_bound() -> None:
    # z − 1/2 is stable for every λ: no upper bound to find.
    with pytest.raises(ArithmeticError, match="expected 0 < λ < bound"):
        curvature_bound(sp.Poly(z - sp.Rational(1, 2), z))


@pytest.mark.parametrize("rate, momentum", [(0.0, 0.5), (-0.1, 0.0), (0.1, 1.0), (0.1, -0.1)])
def test_stability_bound_rejects(rate: float, momentum: float) -> None:
    with pytest.raises(ValueError, match="lr must be > 0|momentum must be in"):
        stability_bound(rate, momentum)
