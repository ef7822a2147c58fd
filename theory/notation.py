"""The notation shared by every derivation, and how to read a formula in it concretely.

Conventions: the loss L is a function of the weights w = (w_1, ..., w_n), evaluated at the clean
weights; indices run from 1 to n. g_i = ∂L/∂w_i, H_ij = ∂²L/∂w_i∂w_j, K_ijk = ∂³L/∂w_i∂w_j∂w_k,
T_ijkl = ∂⁴L/∂w_i∂w_j∂w_k∂w_l. The noise is ε ~ N(0, Σ) with Σ = η² Σ₁ (η the noise level).
"""

from collections.abc import Mapping, Sequence

import sympy as sp

n = sp.Symbol("n", integer=True, positive=True)
i, j, k, l = sp.symbols("i j k l", integer=True, positive=True)

g = sp.IndexedBase("g")
H = sp.IndexedBase("H")
K = sp.IndexedBase("K")
T = sp.IndexedBase("T")
Sigma = sp.IndexedBase("Sigma")
sigma = sp.IndexedBase("sigma")  # sigma_i² = (Σ₁)_ii for a diagonal Σ₁
w = sp.IndexedBase("w")
s = sp.IndexedBase("s")  # s_m: standard deviation of the weights of layer m
layer = sp.Function("l")  # l(i): the layer that weight i belongs to

H_matrix = sp.MatrixSymbol("H", n, n)
Sigma_matrix = sp.MatrixSymbol("Sigma", n, n)

eta = sp.Symbol("eta", nonnegative=True)  # noise level
lr = sp.Symbol("lr", positive=True)  # learning rate
beta = sp.Symbol("beta", nonnegative=True)  # heavy-ball momentum
lam = sp.Symbol("lambda", real=True)  # curvature of a 1-D quadratic, L = λ w² / 2
z = sp.Symbol("z")  # root of a characteristic polynomial

# Curvature quantities the empirical side measures, all at Σ₁ (the noise covariance at η = 1).
noise_trace = sp.Symbol("tr(HΣ₁)")
fourth_moment = sp.Symbol("E_v[D⁴L[v⁴]]")  # v ~ N(0, Σ₁)
grad_cov_grad = sp.Symbol("gᵀΣ₁g")
hsigma_sq_trace = sp.Symbol("tr((HΣ₁)²)")

# Activation kinks (theory.kinks). One unit: pre-activation a perturbed by δ ~ N(0, s²); a
# piecewise-linear activation has kinks c_j with slope jumps Δ_j; Φ and φ are the standard normal
# distribution function and density; B(a, s) = E[relu(a + δ)] − relu(a) is the kink bracket.
pre = sp.Symbol("a", real=True)
pre_std = sp.Symbol("s", positive=True)
kink_at = sp.Symbol("c", real=True)
negative_slope = sp.Symbol("alpha", real=True)  # leaky ReLU: slope α for a < 0
Phi = sp.Function("Phi")
phi = sp.Function("phi")
bracket = sp.Function("B")
# A network: sample n ≤ N, unit k ≤ M, kink j ≤ J of the unit's activation. a_nk is the clean
# pre-activation, τ_nk² = (∂a_nk/∂w Σ₁ ∂a_nk/∂wᵀ) its noise variance at η = 1 (so s = η τ_nk),
# γ_nk = ∂L/∂h_nk the gradient of the loss with respect to the unit's output h_nk.
sample = sp.Symbol("n", integer=True)  # an index, unlike n (the number of weights) above
samples, units, kinks = sp.symbols("N M J", integer=True, positive=True)
unit_pre, unit_std, unit_grad = sp.IndexedBase("a"), sp.IndexedBase("tau"), sp.IndexedBase("gamma")
kink_pos, kink_jump = sp.IndexedBase("c"), sp.IndexedBase("Delta")

LATEX_NAMES: dict[sp.Symbol, str] = {
    lr: r"\mathrm{lr}",
    noise_trace: r"\operatorname{tr}(H\Sigma_1)",
    fourth_moment: r"\operatorname{E}_{v \sim \mathcal{N}(0, \Sigma_1)}"
    r"\left[D^4 L[v, v, v, v]\right]",
    grad_cov_grad: r"g^{T} \Sigma_1 g",
    hsigma_sq_trace: r"\operatorname{tr}\left((H\Sigma_1)^2\right)",
}


def generic_loss(dim: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """An undefined smooth function L(w_1, ..., w_dim) and its arguments."""
    params = sp.symbols(f"w_1:{dim + 1}", real=True)
    return sp.Function("L")(*params), params


def quadratic_loss(dim: int) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """L = c + gᵀw + ½ wᵀHw with symbols c, g_i and a symmetric H of symbols H_ij, and its w."""
    params = sp.symbols(f"w_1:{dim + 1}", real=True)
    weights = sp.Matrix(params)
    grad = sp.Matrix(sp.symbols(f"g_1:{dim + 1}", real=True))
    quadratic = (weights.T * symmetric_matrix("H", dim) * weights)[0]
    return sp.Symbol("c") + (grad.T * weights)[0] + quadratic / 2, params


def shifted(expr: sp.Expr, params: Sequence[sp.Symbol], shift: Sequence[sp.Expr]) -> sp.Expr:
    """expr with every params[a] replaced by params[a] + shift[a] (simultaneously)."""
    return expr.xreplace({p: p + e for p, e in zip(params, shift)})


def symmetric_matrix(name: str, dim: int) -> sp.ImmutableMatrix:
    """A dim × dim symmetric matrix of symbols name_ij (i ≤ j), 1-based."""
    return sp.ImmutableMatrix(
        dim, dim, lambda a, b: sp.Symbol(f"{name}_{min(a, b) + 1}{max(a, b) + 1}", real=True)
    )


def layer_std(m: int) -> sp.Symbol:
    """The symbol s_m for the weight standard deviation of layer m (1-based)."""
    return sp.Symbol(f"s_{m}", positive=True)


def instantiate(
    formula: sp.Expr,
    loss: sp.Expr,
    params: Sequence[sp.Symbol],
    cov: sp.MatrixBase,
    extra: Mapping[sp.Basic, sp.Basic] | None = None,
) -> sp.Expr:
    """The formula, written in this module's notation, for a concrete loss, weights and Σ.

    Sets n = len(params), expands the sums, applies `extra` (e.g. layer(1) → 1), then replaces the
    derivative tensors by derivatives of `loss`, Σ by `cov`, w_i by params[i] and s_m by
    `layer_std(m)`.
    """
    dim = len(params)
    cov = sp.ImmutableMatrix(cov)
    matrices = {
        H_matrix.subs(n, dim): sp.hessian(loss, params),
        Sigma_matrix.subs(n, dim): cov,
    }
    concrete = formula.subs(n, dim).xreplace(matrices).doit().subs(extra or {})

    def component(e: sp.Indexed) -> sp.Expr:
        idx = [int(a) - 1 for a in e.indices]
        if e.base in (g, H, K, T):
            return sp.diff(loss, *(params[a] for a in idx))
        if e.base == Sigma:
            return cov[idx[0], idx[1]]
        if e.base == w:
            return params[idx[0]]
        if e.base == s:
            return layer_std(idx[0] + 1)
        raise ValueError(f"instantiate: no meaning for {e}")

    return concrete.replace(lambda e: isinstance(e, sp.Indexed), component)
