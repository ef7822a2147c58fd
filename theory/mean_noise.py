"""Noise with a mean: the second-order expectation, and the moments of a phase-change-memory weight.

With E[ε] = μ and Cov[ε] = Σ, to second order in ε,
    E[L(w + ε)] − L(w) = gᵀμ + ½ μᵀHμ + ½ tr(HΣ),
which needs only the first two moments of ε (it is exact for a quadratic loss, whatever the
distribution). When μ = μ(w) and Σ = Σ(w) depend on the weights (conductance-dependent noise), the
expansion is still around the fixed trained w: μ(w) and Σ(w) are numbers of the expectation and
no derivative of them appears.

A PCM device (see empirical.experiment.pcm) shows the conductance g = A · D · R, the product of
three independent factors, each a function of one standard normal:
    A = max(0, g_T + s_p z_1)            programmed conductance (µS), clipped at 0
    D = exp(−L |μ_ν + σ_ν z_2|)          drift factor (t/t_c)^(−|ν|), L = log(t/t_c)
    R = max(0, 1 + r z_3)                relative 1/f read noise, r = Q_s √log(...), clipped at 0
so E[g^k] = E[A^k] E[D^k] E[R^k] exactly, each factor in closed form (rectified Gaussian
moments; the moment generating function of the folded normal |ν|, the lognormal one when the
fold is dropped). A weight is a pair of devices, w̃ = c (g⁺ − g⁻) with c = w_max/g_max, scaled by
the drift compensation α.
"""

from functools import lru_cache

import sympy as sp

from theory.checks import require_identity
from theory.closed_forms import SECOND_ORDER, TRACE_H_SIGMA
from theory.gaussian_moments import gaussian_expectation
from theory.kinks import smoothed_relu
from theory.notation import H, g, generic_loss, i, instantiate, j, n, pre, pre_std, quadratic_loss
from theory.notation import shifted, symmetric_matrix
from theory.taylor import taylor_coefficients

CHECK_DIMS = (1, 2, 3)

mu = sp.IndexedBase("mu")  # μ_i = E[ε_i]
GRAD_MEAN = sp.Sum(g[i] * mu[i], (i, 1, n))
MEAN_CURVATURE = sp.Sum(mu[i] * H[i, j] * mu[j], (i, 1, n), (j, 1, n))
WITH_MEAN = GRAD_MEAN + MEAN_CURVATURE / 2 + TRACE_H_SIGMA / 2

# The PCM factors. x: the integration variable; m, s: mean and std of a Gaussian before a clip.
x = sp.Symbol("x", real=True)
gauss_mean, gauss_std = sp.Symbol("m", real=True), sp.Symbol("s", positive=True)
power = sp.Symbol("k", positive=True)  # the moment E[D^k]
log_time = sp.Symbol("L", positive=True)  # log(t/t_c)
nu_mean, nu_std = sp.Symbol("mu_nu", positive=True), sp.Symbol("sigma_nu", positive=True)
target, prog_std = sp.Symbol("g_T", nonnegative=True), sp.Symbol("sigma_prog", positive=True)
read_std = sp.Symbol("r", positive=True)  # std of the relative read noise, Q_s √log(...)
weight, weight_scale = sp.Symbol("w", real=True), sp.Symbol("c", positive=True)  # c = w_max/g_max
alpha = sp.Symbol("alpha", positive=True)  # the layer's drift compensation factor


def std_normal_cdf(u: sp.Expr) -> sp.Expr:
    """Φ(u) through erfc."""
    return sp.erfc(-u / sp.sqrt(2)) / 2


def normal_density(u: sp.Expr, mean: sp.Expr, std: sp.Expr) -> sp.Expr:
    """The density of N(mean, std²) at u."""
    return sp.exp(-((u - mean) ** 2) / (2 * std**2)) / (sp.sqrt(2 * sp.pi) * std)


def erf_form(expr: sp.Expr) -> sp.Expr:
    """expr with erfc written as 1 − erf and expanded, so that symbolic comparisons see through it."""
    return sp.expand(sp.sympify(expr).rewrite(sp.erf))


def expected_increase_with_mean(
    loss: sp.Expr, params: tuple[sp.Symbol, ...], mean: sp.MatrixBase, cov: sp.MatrixBase, order: int
) -> sp.Expr:
    """E of the order-`order` Taylor expansion of loss(params + ε) − loss(params), ε = mean + δ,
    δ ~ N(0, cov); to order 2 only the first two moments of ε enter (E[ε_a ε_b] = Σ_ab + μ_a μ_b)."""
    delta = sp.symbols(f"delta_1:{len(params) + 1}", real=True)
    total = sp.Integer(0)
    for alpha_index, coefficient in taylor_coefficients(loss, params, order).items():
        monomial = sp.Mul(*((mean[a] + delta[a]) ** e for a, e in enumerate(alpha_index)))
        total += coefficient * gaussian_expectation(sp.Poly(monomial, *delta).as_dict(), cov)
    return total


@lru_cache(maxsize=None)
def second_order_with_mean() -> sp.Expr:
    """gᵀμ + ½ μᵀHμ + ½ tr(HΣ).

    Checked: equal to the second-order expectation for a generic loss of n = 1, 2, 3 weights with
    symbolic μ and Σ; ½ tr(HΣ) when μ = 0; exact for a quadratic loss; and for weight-dependent
    noise ε = η (a(w) + B(w) z), z ~ N(0, I), the η-series of E_z[L(w + ε)] to η² is the formula
    with μ = η a(w), Σ = η² B(w)B(w)ᵀ, with no derivative of a or B in it.
    """
    for dim in CHECK_DIMS:
        loss, params = generic_loss(dim)
        mean = sp.Matrix(sp.symbols(f"m_1:{dim + 1}", real=True))
        cov = symmetric_matrix("Sigma", dim)
        concrete = instantiate(WITH_MEAN, loss, params, cov, {mu[a + 1]: mean[a] for a in range(dim)})
        require_identity(
            expected_increase_with_mean(loss, params, mean, cov, 2),
            concrete,
            f"E[ΔL] to second order is gᵀμ + ½ μᵀHμ + ½ tr(HΣ) (n = {dim})",
        )
        require_identity(
            concrete.subs({m: 0 for m in mean}),
            instantiate(SECOND_ORDER, loss, params, cov),
            f"with μ = 0 it is ½ tr(HΣ) (n = {dim})",
        )
    check_quadratic_exactness()
    check_weight_dependent_noise()
    return WITH_MEAN


def check_quadratic_exactness() -> None:
    """For L = c + gᵀw + ½ wᵀHw, E[L(w + ε) − L(w)] (exact, ε = μ + δ) equals the formula."""
    dim = CHECK_DIMS[-1]
    loss, params = quadratic_loss(dim)
    mean = sp.symbols(f"m_1:{dim + 1}", real=True)
    eps = sp.symbols(f"epsilon_1:{dim + 1}", real=True)
    cov = symmetric_matrix("Sigma", dim)
    increase = sp.expand(shifted(loss, params, [m + e for m, e in zip(mean, eps)]) - loss)
    exact = gaussian_expectation(sp.Poly(increase, *eps).as_dict(), cov)
    formula = instantiate(WITH_MEAN, loss, params, cov, {mu[a + 1]: mean[a] for a in range(dim)})
    require_identity(exact, formula, "quadratic loss: E[ΔL] = gᵀμ + ½ μᵀHμ + ½ tr(HΣ) exactly")


def check_weight_dependent_noise() -> None:
    """The check of second_order_with_mean for ε = η (a(w) + B(w) z), z ~ N(0, I).

    Concrete non-polynomial L, a and B of two weights (undefined functions trip sympy's mixed
    derivatives at a substituted point): any ∂a/∂w or ∂B/∂w in the expectation would break the
    identity, since these have non-zero derivatives.
    """
    params = sp.symbols("w_1:3", real=True)
    w1, w2 = params
    loss = sp.exp(w1 * w2) + sp.sin(w1) * w2**3
    level = sp.Symbol("eta", positive=True)
    z = sp.symbols("z_1:3", real=True)
    mean = sp.Matrix([w1**2 * w2, sp.cos(w2)])
    root = sp.Matrix([[w1, w2**2], [sp.exp(w2), 1 + w1 * w2]])
    eps = mean + root * sp.Matrix(z)
    moved = loss.xreplace({p: p + level * e for p, e in zip(params, eps)})
    series = sum(
        sp.diff(moved, level, order).subs(level, 0) * level**order / sp.factorial(order)
        for order in (1, 2)
    )
    expected = gaussian_expectation(
        sp.Poly(sp.expand(series), *z).as_dict(), sp.ImmutableMatrix(sp.eye(2))
    )
    cov = level**2 * root * root.T
    formula = instantiate(
        WITH_MEAN, loss, params, cov, {mu[r + 1]: level * mean[r] for r in range(2)}
    )
    require_identity(expected, formula, "weight-dependent μ(w), Σ(w) enter as numbers")


@lru_cache(maxsize=None)
def rectified_moments() -> tuple[sp.Expr, sp.Expr]:
    """(E[A], E[A²]) for A = max(0, m + s z), z ~ N(0, 1): m Φ(m/s) + s φ(m/s) and
    (m² + s²) Φ(m/s) + m s φ(m/s).

    Checked by integrating over m + s z > 0; E[A] is theory.kinks' smoothed ReLU.
    """
    phi_ms = sp.exp(-(gauss_mean**2) / (2 * gauss_std**2)) / sp.sqrt(2 * sp.pi)
    cdf = std_normal_cdf(gauss_mean / gauss_std)
    first = gauss_mean * cdf + gauss_std * phi_ms
    second = (gauss_mean**2 + gauss_std**2) * cdf + gauss_mean * gauss_std * phi_ms
    density = normal_density(x, gauss_mean, gauss_std)
    for k, claimed in ((1, first), (2, second)):
        direct = sp.integrate(x**k * density, (x, 0, sp.oo))
        require_identity(erf_form(direct), erf_form(claimed), f"E[max(0, m + s z)^{k}]")
    relu = smoothed_relu().subs({pre: gauss_mean, pre_std: gauss_std}, simultaneous=True)
    relu = relu.replace(sp.Function("Phi"), std_normal_cdf)
    relu = relu.replace(sp.Function("phi"), lambda u: sp.exp(-(u**2) / 2) / sp.sqrt(2 * sp.pi))
    require_identity(erf_form(relu), erf_form(first), "E[A] is the smoothed ReLU")
    return first, second


@lru_cache(maxsize=None)
def lognormal_drift_moment() -> sp.Expr:
    """E[e^{−kLν}] = exp(−kLμ_ν + k²L²σ_ν²/2) for ν ~ N(μ_ν, σ_ν²): the moments of the drift
    factor (t/t_c)^(−ν) = e^{−Lν}, a lognormal. Checked by integrating over ν."""
    claimed = sp.exp(-power * log_time * nu_mean + power**2 * log_time**2 * nu_std**2 / 2)
    direct = sp.integrate(sp.exp(-power * log_time * x) * normal_density(x, nu_mean, nu_std), (x, -sp.oo, sp.oo))
    require_identity(sp.simplify(direct / claimed), 1, "lognormal moment of the drift factor")
    return claimed


@lru_cache(maxsize=None)
def folded_drift_moment() -> sp.Expr:
    """E[e^{−kL|ν|}] for ν ~ N(μ_ν, σ_ν²) (aihwkit draws the drift exponent as |ν|):
    e^{−kLμ + k²L²σ²/2} Φ(μ/σ − kLσ) + e^{kLμ + k²L²σ²/2} Φ(−μ/σ − kLσ).

    Checked by integrating over ν > 0 and ν < 0; the first term alone is the lognormal moment times
    Φ(μ/σ − kLσ), so the fold matters only where ν < 0 has probability.
    """
    spread = power * log_time * nu_std
    ratio = nu_mean / nu_std
    claimed = lognormal_drift_moment() * std_normal_cdf(ratio - spread) + sp.exp(
        power * log_time * nu_mean + spread**2 / 2
    ) * std_normal_cdf(-ratio - spread)
    density = normal_density(x, nu_mean, nu_std)
    direct = sp.integrate(sp.exp(-power * log_time * x) * density, (x, 0, sp.oo)) + sp.integrate(
        sp.exp(power * log_time * x) * density, (x, -sp.oo, 0)
    )
    require_identity(sp.simplify(erf_form(direct) - erf_form(claimed)), 0, "folded drift moment")
    return claimed


@lru_cache(maxsize=None)
def pcm_device_moments() -> tuple[sp.Expr, sp.Expr]:
    """(E[g], E[g²]) of one device, g = A D R (independent factors), in g_T, σ_prog, μ_ν, σ_ν, L, r.

    A: rectified_moments at (m, s) = (g_T, σ_prog); D: folded_drift_moment at k = 1, 2;
    R: rectified_moments at (m, s) = (1, r). Checked: each factor's k-th moment tends to its
    noiseless value (g_T^k, e^{−kLμ_ν}, 1) as its std tends to 0, so a noiseless device has
    E[g] = g_T e^{−Lμ_ν} and no variance.
    """
    drift = folded_drift_moment()
    moments = []
    for k, rectified in zip((1, 2), rectified_moments()):
        level = sp.Symbol("level", positive=True)
        checks = (
            (rectified.subs(gauss_mean, level), gauss_std, level**k, "A"),
            (drift.subs(power, k), nu_std, sp.exp(-k * log_time * nu_mean), "D"),
            (rectified.subs(gauss_mean, 1), gauss_std, 1, "R"),
        )
        for expr, std, noiseless, name in checks:
            require_identity(sp.limit(expr, std, 0, "+"), noiseless, f"noiseless E[{name}^{k}]")
        moments.append(
            rectified.subs({gauss_mean: target, gauss_std: prog_std}, simultaneous=True)
            * drift.subs(power, k)
            * rectified.subs({gauss_mean: 1, gauss_std: read_std}, simultaneous=True)
        )
    return moments[0], moments[1]


PLUS, MINUS = "+", "-"


def device_symbols(side: str) -> dict[sp.Symbol, sp.Symbol]:
    """The device symbols renamed for the positive (+) or negative (−) device of a pair."""
    names = (target, prog_std, nu_mean, nu_std, read_std)
    return {s: sp.Symbol(f"{s.name}^{side}", **s.assumptions0) for s in names}


@lru_cache(maxsize=None)
def pcm_weight_moments() -> tuple[sp.Expr, sp.Expr]:
    """(μ, σ²): the mean and variance of ε = α c (g⁺ − g⁻) − w, the compensation α taken as a
    constant and the two devices independent: μ = α c (E[g⁺] − E[g⁻]) − w,
    σ² = α² c² (Var[g⁺] + Var[g⁻])."""
    first, second = pcm_device_moments()
    sides = {side: device_symbols(side) for side in (PLUS, MINUS)}
    m = {side: first.xreplace(sides[side]) for side in sides}
    v = {side: second.xreplace(sides[side]) - m[side] ** 2 for side in sides}
    mean = alpha * weight_scale * (m[PLUS] - m[MINUS]) - weight
    return mean, alpha**2 * weight_scale**2 * (v[PLUS] + v[MINUS])
