"""Curvature at activation kinks: what the autograd Hessian of a piecewise-linear network misses.

A ReLU network is piecewise linear in its pre-activations: autograd's second derivative of each
activation is 0 (the Dirac delta at the kink is dropped), while weight noise moves pre-activations
across kinks. One unit, pre-activation a perturbed by δ ~ N(0, s²), Φ and φ the standard normal
distribution function and density:

    E[relu(a + δ)] = a Φ(a/s) + s φ(a/s)
    B(a, s) = E[relu(a + δ)] − relu(a) = s φ(a/s) − |a| Φ(−|a|/s)        (the kink bracket)

B is even in a, B(0, s) = s/√(2π), B(λa, λs) = λ B(a, s) for λ > 0, ∫ B(a, s) da = s²/2 and
0 < B(a, s) < s³ φ(a/s)/a² for a ≠ 0. A piecewise-linear activation f(a) = (linear part) +
Σ_j Δ_j relu(a − c_j) has f'' = 0 off its kinks and E[f(a + δ)] − f(a) = Σ_j Δ_j B(a − c_j, s):
ReLU (c = 0, Δ = 1), leaky ReLU of slope α (c = 0, Δ = 1 − α), hardtanh (Δ = +1 at −1, −1 at +1).
max(a, b) = b + relu(a − b) gives max-pooling's bracket, with the variance of δ_a − δ_b.

Two scales, with s = η τ (τ² the pre-activation's noise variance at η = 1):
- one unit with a ≠ 0: B(a, ητ) < η³ τ³ φ(a/(ητ))/a² vanishes faster than any power of η;
- pre-activations spread with a smooth density p: ∫ p(a) B(a − c, s) da = ½ p(c) s² + ⅛ p''(c) s⁴
  + O(s⁶) is O(η²), the order of the Hessian term ½ η² tr(HΣ₁), however small η. Its leading term
  is what the Hessian would give with relu'' = δ(a − c) kept.
Every identity is checked symbolically; a failed check raises ArithmeticError.
"""

from functools import lru_cache

import sympy as sp

from theory.checks import require_identity
from theory.closed_forms import noise_level_expansion
from theory.expectation import expected_increase
from theory.gaussian_moments import gaussian_expectation
from theory.notation import (
    Phi,
    bracket,
    eta,
    j,
    k,
    kink_at,
    kink_jump,
    kink_pos,
    kinks,
    negative_slope,
    noise_trace,
    phi,
    pre,
    pre_std,
    sample,
    samples,
    unit_grad,
    unit_pre,
    unit_std,
    units,
)

delta = sp.Symbol("delta", real=True)  # the perturbation of the pre-activation
density = sp.Function("p")  # a smooth density of pre-activations
other_pre = sp.Symbol("b", real=True)  # max(a, b): the second input
std_a, std_b = sp.symbols("s_a s_b", positive=True)  # noise std of a and of b
cov_ab = sp.Symbol("c_ab", real=True)  # their noise covariance

SMOOTHED_RELU = pre * Phi(pre / pre_std) + pre_std * phi(pre / pre_std)
KINK_BRACKET = pre_std * phi(pre / pre_std) - sp.Abs(pre) * Phi(-sp.Abs(pre) / pre_std)
KINK_TAIL_BOUND = pre_std**3 * phi(pre / pre_std) / pre**2
DENSITY_KINK = (
    density(kink_at) * pre_std**2 / 2 + sp.diff(density(kink_at), kink_at, 2) * pre_std**4 / 8
)
PIECEWISE_LINEAR_BRACKET = sp.Sum(kink_jump[j] * bracket(pre - kink_pos[j], pre_std), (j, 1, kinks))
MAX_POOL_BRACKET = bracket(pre - other_pre, sp.sqrt(std_a**2 + std_b**2 - 2 * cov_ab))
KINK_TERM = sp.Sum(
    unit_grad[sample, k]
    * kink_jump[j]
    * bracket(unit_pre[sample, k] - kink_pos[j], eta * unit_std[sample, k]),
    (j, 1, kinks),
    (k, 1, units),
    (sample, 1, samples),
)

# Each activation by its definition, and as (linear part, ((c_j, Δ_j), ...)).
ACTIVATIONS = {
    "relu": (sp.Piecewise((0, pre < 0), (pre, True)), (0, ((0, 1),))),
    "leaky_relu": (
        sp.Piecewise((negative_slope * pre, pre < 0), (pre, True)),
        (negative_slope * pre, ((0, 1 - negative_slope),)),
    ),
    "hardtanh": (
        sp.Piecewise((-1, pre < -1), (pre, pre < 1), (1, True)),
        (-1, ((-1, 1), (1, -1))),
    ),
}


def relu(x: sp.Expr) -> sp.Expr:
    return sp.Max(x, 0)


def gaussian_density(x: sp.Expr, std: sp.Expr) -> sp.Expr:
    """The density of N(0, std²) at x."""
    return sp.exp(-(x**2) / (2 * std**2)) / (sp.sqrt(2 * sp.pi) * std)


def explicit(expr: sp.Expr) -> sp.Expr:
    """expr with B written as KINK_BRACKET, Φ(x) = erfc(−x/√2)/2 and φ(x) = exp(−x²/2)/√(2π)."""
    expr = expr.replace(bracket, lambda x, std: KINK_BRACKET.xreplace({pre: x, pre_std: std}))
    expr = expr.replace(Phi, lambda x: sp.erfc(-x / sp.sqrt(2)) / 2)
    return expr.replace(phi, lambda x: sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi))


def require_gaussian_identity(lhs: sp.Expr, rhs: sp.Expr, claim: str) -> None:
    """require_identity after writing B, Φ, φ out and erfc as 1 − erf (so erf's oddness applies)."""

    def normal_form(expr: sp.Expr) -> sp.Expr:
        return sp.expand(explicit(sp.sympify(expr)).rewrite(sp.erf))

    require_identity(normal_form(lhs), normal_form(rhs), claim)


def require_zero_limit(expr: sp.Expr, x: sp.Symbol, claim: str) -> None:
    """Raise ArithmeticError(claim) unless expr → 0 as x → ∞."""
    if sp.limit(expr, x, sp.oo) != 0:
        raise ArithmeticError(f"derivation check failed: {claim}")


@lru_cache(maxsize=None)
def smoothed_relu() -> sp.Expr:
    """a Φ(a/s) + s φ(a/s), checked against ∫ relu(a + δ) N(δ; 0, s²) dδ, relu(a + δ) being a + δ
    for δ > −a and 0 below."""
    direct = sp.integrate((pre + delta) * gaussian_density(delta, pre_std), (delta, -pre, sp.oo))
    require_gaussian_identity(direct, SMOOTHED_RELU, "E[relu(a + δ)] = a Φ(a/s) + s φ(a/s)")
    return SMOOTHED_RELU


def check_kink_bracket(candidate: sp.Expr) -> None:
    """Raise ArithmeticError unless candidate (in a and s) is E[relu(a + δ)] − relu(a) for a > 0,
    a < 0 and a = 0, with B(0, s) = s/√(2π), B even in a and B(λa, λs) = λ B(a, s)."""
    gap = smoothed_relu() - relu(pre)
    p, scale = sp.symbols("p lambda", positive=True)
    for side, value in (("a > 0", p), ("a < 0", -p), ("a = 0", 0)):
        require_gaussian_identity(
            candidate.subs(pre, value), gap.subs(pre, value), f"B(a, s) for {side}"
        )
    require_gaussian_identity(
        candidate.subs(pre, 0), pre_std / sp.sqrt(2 * sp.pi), "B(0, s) = s/√(2π)"
    )
    require_gaussian_identity(candidate.subs(pre, -pre), candidate, "B(−a, s) = B(a, s)")
    require_gaussian_identity(
        candidate.subs({pre: scale * pre, pre_std: scale * pre_std}, simultaneous=True),
        scale * candidate,
        "B(λa, λs) = λ B(a, s)",
    )


@lru_cache(maxsize=None)
def kink_bracket() -> sp.Expr:
    """B(a, s) = s φ(a/s) − |a| Φ(−|a|/s), checked by check_kink_bracket."""
    check_kink_bracket(KINK_BRACKET)
    return KINK_BRACKET


@lru_cache(maxsize=None)
def kink_bracket_integral() -> sp.Expr:
    """∫ B(a, s) da over the real line = s²/2, integrated symbolically (twice the half line: B is
    even)."""
    u = sp.Symbol("u", positive=True)
    half = sp.integrate(explicit(kink_bracket()).subs(pre, u), (u, 0, sp.oo))
    require_identity(2 * half, pre_std**2 / 2, "∫ B(a, s) da = s²/2")
    return 2 * half


@lru_cache(maxsize=None)
def density_kink_term() -> sp.Expr:
    """∫ p(a) B(a − c, s) da = ½ p(c) s² + ⅛ p''(c) s⁴ + O(s⁶) for a smooth density p.

    Derived with a = c + s u and B(su, s) = s B(u, 1): s² ∫ p(c + su) B(u, 1) du, p Taylor-expanded
    in s and the moments ∫ u^m B(u, 1) du integrated (odd m vanish, B being even). Checked: the s²
    term is ½ s² ∫ p(a) relu''(a − c) da with relu'' = δ(a − c) (the Hessian with the kink's delta
    kept), and the expansion is the Taylor series in v = 1 + s² of the exact value for
    p = N(1/2, 1), which is E[relu(x + δ)] − E[relu(x)] with x + δ ~ N(1/2, v).
    """
    u = sp.Symbol("u", positive=True)
    unit = explicit(kink_bracket()).subs({pre: u, pre_std: 1})
    moments = [0 if m % 2 else 2 * sp.integrate(u**m * unit, (u, 0, sp.oo)) for m in range(3)]
    derived = pre_std**2 * sum(
        sp.diff(density(kink_at), kink_at, m) * pre_std**m / sp.factorial(m) * moments[m]
        for m in range(3)
    )
    require_identity(derived, DENSITY_KINK, "∫ p(a) B(a − c, s) da to order s⁴")
    dirac = sp.integrate(density(pre) * sp.diff(relu(pre - kink_at), pre, 2), (pre, -sp.oo, sp.oo))
    require_identity(
        DENSITY_KINK.coeff(pre_std, 2) * pre_std**2,
        pre_std**2 * dirac / 2,
        "the s² term is the Hessian's with relu'' = δ kept",
    )
    mean, v = sp.Rational(1, 2), sp.Symbol("v", positive=True)  # v = 1 + s²
    exact = explicit(smoothed_relu().subs({pre: mean, pre_std: sp.sqrt(v)}, simultaneous=True))
    series = sum(
        sp.diff(exact, v, m).subs(v, 1) * pre_std ** (2 * m) / sp.factorial(m) for m in (1, 2)
    )
    gaussian = gaussian_density(pre - mean, 1)
    require_gaussian_identity(
        series,
        DENSITY_KINK.replace(density, sp.Lambda(pre, gaussian)).subs(kink_at, 0).doit(),
        "∫ p(a) B(a, s) da to order s⁴ for p = N(1/2, 1)",
    )
    return DENSITY_KINK + sp.O(pre_std**6)


@lru_cache(maxsize=None)
def kink_bracket_tail_bound() -> sp.Expr:
    """s³ φ(a/s)/a²: for a ≠ 0, 0 < B(a, s) < this bound.

    With x = |a|/s, B = s G(x), G(x) = φ(x) − x Φ(−x), and the bound is s φ(x)/x². Checked: the
    Mills gap M(x) = φ(x)/x − Φ(−x) has M' = −φ/x² < 0, G' = −Φ(−x) < 0 and D = φ/x² − G has
    D' = −M − 2φ/x³; M, G and D tend to 0 as x → ∞. So M > 0, hence D' < 0, and G > 0, D > 0.
    """
    x = sp.Symbol("x", positive=True)
    density_x, tail = phi(x), Phi(-x)
    mills = density_x / x - tail
    g = density_x - x * tail
    gap = density_x / x**2 - g
    require_gaussian_identity(sp.diff(explicit(mills), x), -density_x / x**2, "M' = −φ/x²")
    require_gaussian_identity(sp.diff(explicit(g), x), -tail, "G' = −Φ(−x)")
    require_gaussian_identity(sp.diff(explicit(gap), x), -mills - 2 * density_x / x**3, "D'")
    for name, expr in (("M", mills), ("G", g), ("D", gap)):
        require_zero_limit(explicit(expr), x, f"{name}(x) → 0 as x → ∞")
    at = {x: sp.Abs(pre) / pre_std}
    require_gaussian_identity(kink_bracket(), pre_std * g.subs(at), "B(a, s) = s G(|a|/s)")
    require_gaussian_identity(
        KINK_TAIL_BOUND, pre_std * (density_x / x**2).subs(at), "bound = s φ(x)/x²"
    )
    return KINK_TAIL_BOUND


@lru_cache(maxsize=None)
def piecewise_linear_bracket() -> sp.Expr:
    """Σ_j Δ_j B(a − c_j, s) = E[f(a + δ)] − f(a) for f(a) = m a + b₀ + Σ_j Δ_j relu(a − c_j).

    Checked for two kinks with symbolic slope, offset, kinks and jumps, on every side of each kink
    (c_j = a ∓ p_j): E of the linear part by Isserlis (it adds nothing), E[relu(a − c_j + δ)]
    the smoothed ReLU at a − c_j; and f'' = 0 off the kinks (autograd's Hessian share is zero).
    """
    slope, offset = sp.symbols("m b_0", real=True)
    cs, jumps = sp.symbols("c_1:3", real=True), sp.symbols("Delta_1:3", real=True)
    linear = gaussian_expectation(
        sp.Poly(slope * (pre + delta) + offset, delta).as_dict(), sp.ImmutableMatrix([[pre_std**2]])
    )
    require_identity(linear, slope * pre + offset, "E[m(a + δ) + b₀] = m a + b₀")
    unit = slope * pre + offset + sum(d * relu(pre - c) for c, d in zip(cs, jumps))
    mean = linear + sum(d * smoothed_relu().subs(pre, pre - c) for c, d in zip(cs, jumps))
    claimed = PIECEWISE_LINEAR_BRACKET.subs(kinks, 2).doit()
    claimed = claimed.xreplace({kink_pos[m + 1]: cs[m] for m in range(2)})
    claimed = claimed.xreplace({kink_jump[m + 1]: jumps[m] for m in range(2)})
    ps = sp.symbols("p_1:3", positive=True)
    for signs in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
        side = {c: pre - sign * p for c, sign, p in zip(cs, signs, ps)}
        require_gaussian_identity(
            (mean - unit).subs(side), claimed.subs(side), f"E[f(a + δ)] − f(a), signs {signs}"
        )
        require_identity(sp.diff(unit, pre, 2).subs(side), 0, f"f'' = 0 off the kinks {signs}")
    return PIECEWISE_LINEAR_BRACKET


def sample_points(kink_list: tuple[sp.Expr, ...]) -> list[sp.Expr]:
    """Two points in each interval that the sorted numeric kinks cut the real line into."""
    cuts = sorted(kink_list)
    points = [cuts[0] - 2, cuts[0] - 1, cuts[-1] + 1, cuts[-1] + 2]
    for lo, hi in zip(cuts, cuts[1:]):
        points += [lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3]
    return points


@lru_cache(maxsize=None)
def activation_decomposition(name: str) -> tuple[sp.Expr, tuple[tuple[sp.Expr, sp.Expr], ...]]:
    """(linear part, ((c_j, Δ_j), ...)) of an activation in ACTIVATIONS.

    Checked: the linear part is affine, and it plus Σ_j Δ_j relu(a − c_j) equals the activation's
    definition at two points of every interval between kinks; both sides are continuous and affine
    on each interval, so they agree everywhere.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"name must be one of {tuple(ACTIVATIONS)}. Got {name!r}.")
    definition, (linear, kink_list) = ACTIVATIONS[name]
    require_identity(sp.diff(linear, pre, 2), 0, f"{name}: the linear part is affine")
    decomposed = linear + sum(d * relu(pre - c) for c, d in kink_list)
    for point in sample_points(tuple(sp.Integer(c) for c, _ in kink_list)):
        require_identity(
            decomposed.subs(pre, point), definition.subs(pre, point), f"{name} at a = {point}"
        )
    return linear, kink_list


def activation_bracket(name: str) -> sp.Expr:
    """E[f(a + δ)] − f(a) for the activation `name`: piecewise_linear_bracket at its kinks."""
    _, kink_list = activation_decomposition(name)
    terms = piecewise_linear_bracket().subs(kinks, len(kink_list)).doit()
    values = {kink_pos[m + 1]: c for m, (c, _) in enumerate(kink_list)}
    values |= {kink_jump[m + 1]: d for m, (_, d) in enumerate(kink_list)}
    return sp.factor_terms(terms.xreplace(values))


@lru_cache(maxsize=None)
def max_pool_bracket() -> sp.Expr:
    """E[max(a + δ_a, b + δ_b)] − max(a, b) = B(a − b, √(s_a² + s_b² − 2 c_ab)).

    Checked: max(a, b) = b + relu(a − b) on both sides of a = b; E[δ_b] = 0; δ_a − δ_b, a linear
    map of a Gaussian, has variance s_a² + s_b² − 2 c_ab (Isserlis).
    """
    p = sp.Symbol("p", positive=True)
    for value in (other_pre + p, other_pre - p):
        require_identity(
            sp.Max(value, other_pre),
            (other_pre + relu(pre - other_pre)).subs(pre, value),
            "max(a, b) = b + relu(a − b)",
        )
    cov = sp.ImmutableMatrix([[std_a**2, cov_ab], [cov_ab, std_b**2]])
    require_identity(gaussian_expectation({(0, 1): 1}, cov), 0, "E[δ_b] = 0")
    e = sp.symbols("e_1:3", real=True)
    variance = gaussian_expectation(sp.Poly((e[0] - e[1]) ** 2, *e).as_dict(), cov)
    require_identity(variance, MAX_POOL_BRACKET.args[1] ** 2, "Var[δ_a − δ_b]")
    return MAX_POOL_BRACKET


@lru_cache(maxsize=None)
def kink_prediction() -> sp.Expr:
    """½ η² tr(HΣ₁) + Σ_n Σ_k Σ_j γ_nk Δ_j B(a_nk − c_j, η τ_nk).

    The η² term is noise_level_expansion(2). Checked exact for two units with the two-kink
    activation of piecewise_linear_bracket and L = Σ_k γ_k f(a_k) + ½ aᵀQa, the weights being the
    pre-activations (τ_k² = (Σ₁)_kk): H is autograd's (relu'' = 0), the exact E[ΔL] is the units'
    brackets plus E of the quadratic (expected_increase, exact for a quadratic).
    """
    prediction = noise_level_expansion(2) + KINK_TERM
    pres, stds, grads = (sp.symbols(f"{v}_1:3", real=True) for v in ("a", "tau", "gamma"))
    cs, jumps = sp.symbols("c_1:3", real=True), sp.symbols("Delta_1:3", real=True)
    slope, offset = sp.symbols("m b_0", real=True)
    q = sp.ImmutableMatrix(2, 2, lambda r, c: sp.Symbol(f"Q_{min(r, c) + 1}{max(r, c) + 1}"))
    quadratic = (sp.Matrix(pres).T * q * sp.Matrix(pres))[0] / 2

    def f(x: sp.Expr) -> sp.Expr:
        return slope * x + offset + sum(d * relu(x - c) for c, d in zip(cs, jumps))

    loss = sum(gm * f(x) for gm, x in zip(grads, pres)) + quadratic
    autograd_hessian = sp.hessian(loss, pres).replace(sp.DiracDelta, lambda *_: 0)
    cov1 = sp.diag(*(t**2 for t in stds))
    per_unit = piecewise_linear_bracket().subs(kinks, 2).doit()
    per_unit = per_unit.xreplace({kink_pos[m + 1]: cs[m] for m in range(2)})
    per_unit = per_unit.xreplace({kink_jump[m + 1]: jumps[m] for m in range(2)})
    exact = sum(
        gm * per_unit.subs({pre: x, pre_std: eta * t}, simultaneous=True)
        for gm, x, t in zip(grads, pres, stds)
    ) + expected_increase(quadratic, pres, eta**2 * cov1, order=2)
    concrete = prediction.subs({samples: 1, units: 2, kinks: 2}).doit()
    names = {unit_pre: pres, unit_std: stds, unit_grad: grads}
    concrete = concrete.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base in names,
        lambda e: names[e.base][int(e.indices[1]) - 1],
    )
    concrete = concrete.xreplace({kink_pos[m + 1]: cs[m] for m in range(2)})
    concrete = concrete.xreplace({kink_jump[m + 1]: jumps[m] for m in range(2)})
    concrete = concrete.subs(noise_trace, (autograd_hessian * cov1).trace())
    require_identity(concrete, exact, "prediction exact for units linear in L plus a quadratic")
    return prediction
