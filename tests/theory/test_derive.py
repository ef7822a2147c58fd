import doctest
import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import theory.expectation
from theory import derive
from theory.derive import DEFAULT_OUT, expected_increase, main
from theory.notation import beta, lr

w, s = sp.symbols("w s", positive=True)
w1, w2, w3 = W = sp.symbols("w_1:4", real=True)


def _series_increase(exact_mean: sp.Expr, scale: sp.Symbol, clean: sp.Expr, order: int) -> sp.Expr:
    """The terms of exact_mean − clean up to scale**order (scale² ∝ Σ)."""
    return sp.series(exact_mean, scale, 0, order + 1).removeO() - clean


@pytest.mark.parametrize("order", [2, 4, 6, 8])
def test_cos_matches_series_of_exact_expectation(order: int) -> None:
    # E[cos(w + ε)] = cos(w) exp(−σ²/2): each order of its series in σ is fixed.
    exact = sp.cos(w) * sp.exp(-(s**2) / 2)
    got = expected_increase(sp.cos(w), [w], [[s**2]], order=order)
    assert sp.simplify(got - _series_increase(exact, s, sp.cos(w), order)) == 0


@pytest.mark.parametrize("order", [2, 4, 6])
def test_exp_and_cos_of_linear_form_with_correlated_cov(order: int) -> None:
    # E[exp(aᵀ(w + ε))] = exp(aᵀw + aᵀΣa/2) and E[cos(aᵀ(w + ε))] = cos(aᵀw) exp(−aᵀΣa/2).
    t = sp.Symbol("t", positive=True)  # Σ = t² Σ₀ to read off orders
    cov0 = sp.Matrix([[2, sp.Rational(1, 2)], [sp.Rational(1, 2), 1]])
    a = sp.Matrix([1, -3])
    form = (a.T * sp.Matrix([w1, w2]))[0]
    quad = (a.T * cov0 * a)[0]
    for loss, exact in [
        (sp.exp(form), sp.exp(form + t**2 * quad / 2)),
        (sp.cos(form), sp.cos(form) * sp.exp(-(t**2) * quad / 2)),
    ]:
        got = expected_increase(loss, [w1, w2], t**2 * cov0, order=order)
        assert sp.simplify(got - _series_increase(exact, t, loss, order)) == 0


QUARTIC = w1**4 - 2 * w1 * w2**3 + 3 * w2**2 * w3**2 - w1 * w2 * w3 + 5 * w3**3 + w1 * w3 - 2 * w2
POINT = {w1: 0.4, w2: -1.1, w3: 0.7}
COV = np.array([[0.30, 0.12, -0.05], [0.12, 0.20, 0.08], [-0.05, 0.08, 0.25]])


def _numeric(expr: sp.Expr) -> float:
    return float(expr.subs(POINT))


def test_quartic_against_tensor_closed_form() -> None:
    # For diagonal-free Σ: ½ tr(HΣ) + (1/8) Σ T_ijkl Σ_ij Σ_kl (the three Isserlis pairings are
    # equal by the symmetry of T), with H and T from sympy's derive_by_array.
    hess = np.array(sp.derive_by_array(sp.derive_by_array(QUARTIC, W), W).subs(POINT), float)
    d4 = sp.derive_by_array(QUARTIC, W)
    for _ in range(3):
        d4 = sp.derive_by_array(d4, W)
    fourth = np.array(d4.subs(POINT), float)
    second = 0.5 * np.trace(hess @ COV)
    quartic = np.einsum("ijkl,ij,kl->", fourth, COV, COV) / 8
    cov = sp.Matrix(COV)
    assert _numeric(expected_increase(QUARTIC, W, cov, order=2)) == pytest.approx(second, rel=1e-12)
    assert _numeric(expected_increase(QUARTIC, W, cov, order=3)) == pytest.approx(second, rel=1e-12)
    got4 = _numeric(expected_increase(QUARTIC, W, cov, order=4))
    assert got4 == pytest.approx(second + quartic, rel=1e-12)
    assert _numeric(expected_increase(QUARTIC, W, cov, order=6)) == pytest.approx(got4, rel=1e-12)


def test_quartic_against_monte_carlo() -> None:
    f = sp.lambdify(W, QUARTIC, "numpy")
    x0 = np.array(list(POINT.values()))
    eps = np.random.default_rng(1).multivariate_normal(np.zeros(3), COV, size=500_000)
    increase = f(*(x0 + eps).T) - f(*x0)
    se = increase.std() / np.sqrt(len(increase))
    exact = _numeric(expected_increase(QUARTIC, W, sp.Matrix(COV), order=4))
    second = _numeric(expected_increase(QUARTIC, W, sp.Matrix(COV), order=2))
    assert abs(increase.mean() - exact) < 4 * se
    assert abs(increase.mean() - second) > 10 * se  # the fourth-order term is visible here


def test_quadratic_is_exact_at_order_two() -> None:
    sym = sp.symbols("a b c", real=True)
    cov = sp.Matrix([[sym[0], sym[2]], [sym[2], sym[1]]])
    loss = 3 * w1**2 - w1 * w2 + 2 * w2**2 + 7 * w1 - 1
    got = expected_increase(loss, [w1, w2], cov, order=2)
    assert sp.expand(got - (3 * sym[0] - sym[2] + 2 * sym[1])) == 0
    assert sp.expand(expected_increase(loss, [w1, w2], cov, order=8) - got) == 0


@pytest.mark.parametrize("order", [0, -1, 2.0, True, "4"])
def test_bad_order_raises(order: object) -> None:
    with pytest.raises(ValueError, match="order must be an integer"):
        expected_increase(sp.cos(w), [w], [[s]], order=order)


def test_bad_cov_and_params_raise() -> None:
    with pytest.raises(ValueError, match=r"cov must be 2 x 2 to match the 2 params\. Got shape"):
        expected_increase(w1 * w2, [w1, w2], sp.eye(3))
    with pytest.raises(ValueError, match="cov must be symmetric"):
        expected_increase(w1 * w2, [w1, w2], [[1, 0], [s, 1]])
    with pytest.raises(ValueError, match="params must be"):
        expected_increase(w1 * w2, w1, [[1]])


def test_cli_writes_tex_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--out", str(tmp_path)])
    rows = json.loads((tmp_path / "theory.json").read_text(encoding="utf-8"))
    names = [row["name"] for row in rows]
    assert {"second_order", "fourth_order_term", "variance", "heavy_ball_stability"} <= set(names)
    keys = {"name", "sentence", "lhs", "relation", "sympy", "latex"}
    assert all(set(row) == keys for row in rows)
    stability = rows[names.index("heavy_ball_stability")]
    assert stability["relation"] == "<"
    parsed = sp.sympify(stability["sympy"], locals={"beta": beta, "lr": lr})
    assert sp.simplify(parsed - 2 * (1 + beta) / lr) == 0
    tex = (tmp_path / "theory.tex").read_text(encoding="utf-8")
    for name in names:
        assert f"\\label{{eq:theory:{name}}}" in tex
    assert tex.count("\\begin{equation}") == tex.count("\\end{equation}") == len(names)
    assert "heavy_ball_stability" in capsys.readouterr().out


def test_default_out_is_in_the_repository() -> None:
    assert DEFAULT_OUT == Path(__file__).resolve().parents[2] / "paper" / "generated"
    assert derive.default_out() == DEFAULT_OUT


def test_installed_without_a_checkout_out_is_required(monkeypatch, capsys) -> None:
    monkeypatch.setattr(derive, "DEFAULT_OUT", Path("/nonexistent/paper/generated"))
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2 and "--out" in capsys.readouterr().err


def test_docstring_examples() -> None:
    result = doctest.testmod(theory.expectation)
    assert result.attempted > 0 and result.failed == 0
