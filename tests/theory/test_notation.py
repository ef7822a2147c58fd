import sympy as sp

from theory.notation import (
    H,
    H_matrix,
    Sigma,
    Sigma_matrix,
    generic_loss,
    i,
    instantiate,
    j,
    layer,
    layer_std,
    n,
    quadratic_loss,
    s,
    shifted,
    symmetric_matrix,
    w,
)


def test_symmetric_matrix() -> None:
    m = symmetric_matrix("S", 3)
    assert m == m.T and m[0, 2] == sp.Symbol("S_13", real=True)


def test_instantiate_index_and_matrix_forms_agree() -> None:
    loss, params = generic_loss(2)
    cov = symmetric_matrix("S", 2)
    index_form = instantiate(sp.Sum(H[i, j] * Sigma[i, j], (i, 1, n), (j, 1, n)), loss, params, cov)
    matrix_form = instantiate(sp.Trace(H_matrix * Sigma_matrix), loss, params, cov)
    expected = sum(
        sp.diff(loss, params[a], params[b]) * cov[a, b] for a in range(2) for b in range(2)
    )
    assert sp.expand(index_form - expected) == 0
    assert sp.expand(matrix_form - expected) == 0


def test_instantiate_weights_and_layers() -> None:
    loss, params = generic_loss(2)
    formula = sp.Sum(w[i] ** 2 * s[layer(i)] ** 2, (i, 1, n))
    got = instantiate(formula, loss, params, sp.eye(2), extra={layer(1): 2, layer(2): 1})
    expected = params[0] ** 2 * layer_std(2) ** 2 + params[1] ** 2 * layer_std(1) ** 2
    assert sp.expand(got - expected) == 0


def test_quadratic_loss_and_shift() -> None:
    loss, params = quadratic_loss(2)
    assert sp.hessian(loss, params) == symmetric_matrix("H", 2)
    eps = sp.symbols("e_1:3")
    assert sp.expand(shifted(loss, params, eps) - loss).subs(dict.fromkeys(eps, 0)) == 0
