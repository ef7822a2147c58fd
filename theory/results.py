"""Every derived result as a named equation with a one-line sentence, for printing and the paper."""

from dataclasses import dataclass

import sympy as sp

from theory.closed_forms import (
    fourth_order_term,
    noise_level_expansion,
    quadratic_exactness,
    second_order,
)
from theory.kinks import (
    activation_bracket,
    density_kink_term,
    kink_bracket,
    kink_bracket_integral,
    kink_bracket_tail_bound,
    kink_prediction,
    max_pool_bracket,
    piecewise_linear_bracket,
    smoothed_relu,
)
from theory.mean_noise import (
    folded_drift_moment,
    lognormal_drift_moment,
    pcm_device_moments,
    rectified_moments,
    second_order_with_mean,
)
from theory.noise_models import noise_model_coefficients
from theory.notation import LATEX_NAMES, beta, eta, lam
from theory.stability import characteristic_polynomial, gd_bound, heavy_ball_bound
from theory.variance import variance_closed_forms, variance_in_noise_level


@dataclass(frozen=True)
class Result:
    """lhs relation rhs, e.g. E[ΔL] = tr(HΣ)/2; lhs is a display symbol with LaTeX `lhs_latex`."""

    name: str
    sentence: str
    lhs: sp.Symbol
    rhs: sp.Expr
    lhs_latex: str
    relation: type[sp.Rel] = sp.Eq
    term_order: str | None = None  # sympy printing order: "rev-lex" lists η² before η⁴

    @property
    def equation(self) -> sp.Rel:
        return self.relation(self.lhs, self.rhs, evaluate=False)

    def latex(self) -> str:
        names = {**LATEX_NAMES, self.lhs: self.lhs_latex}
        return sp.latex(self.equation, symbol_names=names, order=self.term_order)

    def text(self) -> str:
        return sp.pretty(self.equation, use_unicode=True, wrap_line=False, order=self.term_order)


def derive_all() -> list[Result]:
    """All results, in the order the paper shows them; each derivation runs its own checks."""
    mean_tex = r"\operatorname{E}_\varepsilon[\Delta L]"
    mean_eta = sp.Symbol("E[ΔL](η)")
    mean_eta_tex = rf"{mean_tex}(\eta)"
    results = [
        Result(
            "second_order",
            "To second order in the noise, the expected loss increase is half the trace of the "
            "Hessian times the noise covariance.",
            sp.Symbol("E[ΔL]⁽²⁾"),
            second_order(),
            rf"{mean_tex}^{{(2)}}",
        ),
        Result(
            "fourth_order_term",
            "The third-order term vanishes and the fourth-order term pairs the fourth-derivative "
            "tensor with the noise covariance in all three ways (Isserlis).",
            sp.Symbol("E[ΔL]⁽⁴⁾ − E[ΔL]⁽²⁾"),
            fourth_order_term(),
            rf"{mean_tex}^{{(4)}} - {mean_tex}^{{(2)}}",
        ),
        Result(
            "quadratic_exactness",
            "For a quadratic loss the second-order result is exact; higher orders add nothing.",
            sp.Symbol("E[ΔL] (quadratic L)"),
            quadratic_exactness(),
            r"\operatorname{E}_\varepsilon\left[L(w+\varepsilon) - L(w)\right]"
            r"_{L = c + g^{T} w + \frac{1}{2} w^{T} H w}",
        ),
        Result(
            "noise_level_expansion",
            "With the noise covariance scaled by the squared noise level, the expected increase "
            "is a quadratic plus a quartic term whose coefficients are measurable curvatures.",
            mean_eta,
            noise_level_expansion(4),
            mean_eta_tex,
            term_order="rev-lex",
        ),
    ]
    descriptions = {
        "layer-relative": "weight i perturbed in proportion to s, the standard deviation of the "
        "weights of its layer l(i)",
        "multiplicative": "each weight perturbed in proportion to itself",
        "additive": "every weight perturbed by the same amount",
    }
    for model, description in descriptions.items():
        a, b = noise_model_coefficients(model)
        results.append(
            Result(
                f"noise_model_{model.replace('-', '_')}",
                f"The expansion for {model} noise ({description}).",
                sp.Symbol(f"E[ΔL](η), {model}"),
                a * eta**2 + b * eta**4,
                rf"{mean_eta_tex}_{{\text{{{model}}}}}",
                term_order="rev-lex",
            )
        )
    leading, third_order = variance_closed_forms()
    results += [
        Result(
            "variance",
            "To fourth order in the noise, the variance of the loss increase; the term with the "
            "third-derivative tensor K vanishes at a stationary point, the other two are the "
            "exact variance for a quadratic loss.",
            sp.Symbol("Var[ΔL]"),
            leading + third_order,
            r"\operatorname{Var}_\varepsilon[\Delta L]",
        ),
        Result(
            "variance_noise_level",
            "The leading-order variance in the noise level, to compare with the measured scatter.",
            sp.Symbol("Var[ΔL](η)"),
            variance_in_noise_level(),
            r"\operatorname{Var}_\varepsilon[\Delta L](\eta)",
            term_order="rev-lex",
        ),
        Result(
            "heavy_ball_polynomial",
            "The characteristic polynomial of heavy-ball momentum on a one-dimensional quadratic.",
            sp.Symbol("p(z)"),
            characteristic_polynomial(beta).as_expr(),
            "p(z)",
            term_order="grlex",
        ),
        Result(
            "heavy_ball_stability",
            "For momentum in [0, 1) its roots lie inside the unit circle exactly for positive "
            "curvatures below this bound, so a larger learning rate can only settle where the loss "
            "is flatter.",
            lam,
            heavy_ball_bound(),
            r"\lambda",
            sp.StrictLessThan,
        ),
        Result(
            "gd_stability",
            "Without momentum the bound is the classical one of plain gradient descent.",
            lam,
            gd_bound(),
            r"\lambda",
            sp.StrictLessThan,
        ),
    ]
    return results + kink_results(mean_eta_tex) + mean_noise_results(mean_tex)


def kink_results(mean_eta_tex: str) -> list[Result]:
    """The results of theory.kinks: what a piecewise-linear network's Hessian misses."""
    bracket_tex = "B(a, s)"
    return [
        Result(
            "smoothed_relu",
            "A ReLU unit whose pre-activation $a$ is perturbed by Gaussian noise of standard "
            r"deviation $s$ has this mean output ($\Phi$, $\phi$: the standard normal "
            "distribution function and density).",
            sp.Symbol("E[relu(a + δ)]"),
            smoothed_relu(),
            r"\operatorname{E}_{\delta \sim \mathcal{N}(0, s^2)}"
            r"\left[\operatorname{relu}(a + \delta)\right]",
        ),
        Result(
            "kink_bracket",
            "Its excess over the clean output, the kink bracket, is what the Hessian misses: a "
            "ReLU's second derivative is zero off its kink. It is even in $a$ and largest at "
            r"the kink, $B(0, s) = s/\sqrt{2\pi}$.",
            sp.Symbol("B(a, s)"),
            kink_bracket(),
            r"B(a, s) = \operatorname{E}_\delta\left[\operatorname{relu}(a + \delta)\right]"
            r" - \operatorname{relu}(a)",
        ),
        Result(
            "kink_bracket_integral",
            "Integrated over the pre-activation the bracket is half the noise variance.",
            sp.Symbol("∫ B(a, s) da"),
            kink_bracket_integral(),
            r"\int_{-\infty}^{\infty} B(a, s) \, da",
        ),
        Result(
            "kink_bracket_tail_bound",
            r"Off the kink ($a \neq 0$) the bracket is positive and below this bound, so with "
            r"$s = \eta \tau$ a single unit's bracket vanishes faster than any power of the "
            "noise level as it goes to zero.",
            sp.Symbol("B(a, s) (a ≠ 0)"),
            kink_bracket_tail_bound(),
            bracket_tex,
            sp.StrictLessThan,
        ),
        Result(
            "density_kink_term",
            "Averaged over pre-activations with a smooth density $p$, a kink at $c$ contributes "
            "at order $s^2$, the order of the Hessian term, however small the noise; the "
            "leading term is the Hessian's with the Dirac delta at the kink kept.",
            sp.Symbol("∫ p(a) B(a − c, s) da"),
            density_kink_term(),
            r"\int_{-\infty}^{\infty} p(a) \, B(a - c, s) \, da",
        ),
        Result(
            "piecewise_linear_bracket",
            "A piecewise-linear activation $f$, a linear part plus slope jumps $\\Delta_j$ at "
            "kinks $c_j$, has one bracket per kink; its linear part adds nothing.",
            sp.Symbol("E[f(a + δ)] − f(a)"),
            piecewise_linear_bracket(),
            r"\operatorname{E}_\delta[f(a + \delta)] - f(a)",
        ),
        Result(
            "leaky_relu_bracket",
            r"For the leaky ReLU of negative slope $\alpha$ the jump is $1 - \alpha$.",
            sp.Symbol("E[f(a + δ)] − f(a), leaky ReLU"),
            activation_bracket("leaky_relu"),
            r"\operatorname{E}_\delta[f(a + \delta)] - f(a)\big|_{\text{leaky ReLU}}",
        ),
        Result(
            "hardtanh_bracket",
            "Hardtanh (clipping to $[-1, 1]$) has two kinks with opposite jumps.",
            sp.Symbol("E[f(a + δ)] − f(a), hardtanh"),
            activation_bracket("hardtanh"),
            r"\operatorname{E}_\delta[f(a + \delta)] - f(a)\big|_{\text{hardtanh}}",
        ),
        Result(
            "max_pool_bracket",
            "Max-pooling of two inputs with noise standard deviations $s_a$, $s_b$ and "
            "covariance $c_{ab}$ is a kink in their difference.",
            sp.Symbol("E[max(a + δ_a, b + δ_b)] − max(a, b)"),
            max_pool_bracket(),
            r"\operatorname{E}_\delta[\max(a + \delta_a, b + \delta_b)] - \max(a, b)",
        ),
        Result(
            "kink_prediction",
            "The prediction for a network with piecewise-linear activations adds to the Hessian "
            "term every unit's brackets (sample $n$, unit $k$, kink $j$), weighted by the "
            r"gradient $\gamma_{n,k}$ of the loss with respect to the unit's output; "
            r"$\tau_{n,k}^2$ is the unit's pre-activation noise variance at $\eta = 1$. It is "
            "exact for a loss linear in the unit outputs plus a quadratic, with pre-activations "
            "linear in the weights.",
            sp.Symbol("E[ΔL](η), kinks"),
            kink_prediction(),
            rf"{mean_eta_tex}_{{\text{{kinks}}}}",
        ),
    ]


def mean_noise_results(mean_tex: str) -> list[Result]:
    """The results of theory.mean_noise: noise with a mean, and a phase-change-memory device."""
    return [
        Result(
            "second_order_with_mean",
            r"For noise with mean $\mu$ and covariance $\Sigma$ the second-order expectation gains "
            "a gradient and a curvature term of the mean; it needs only the first two moments, "
            r"is exact for a quadratic loss, and holds unchanged when $\mu$ and $\Sigma$ depend on "
            "the weights (conductance-dependent noise), evaluated at the trained weights.",
            sp.Symbol("E[ΔL]⁽²⁾ (mean μ)"),
            second_order_with_mean(),
            rf"{mean_tex}^{{(2)}}",
        ),
        Result(
            "lognormal_drift_moment",
            r"A drift exponent $\nu \sim \mathcal{N}(\mu_\nu, \sigma_\nu^2)$ makes the drift "
            r"factor $(t/t_c)^{-\nu} = e^{-L\nu}$, $L = \log(t/t_c)$, lognormal, with these moments.",
            sp.Symbol("E[exp(−kLν)]"),
            lognormal_drift_moment(),
            r"\operatorname{E}\left[e^{-kL\nu}\right]",
        ),
        Result(
            "folded_drift_moment",
            r"With the exponent folded to $|\nu|$, as the device model draws it, the moments gain "
            r"normal distribution functions; they tend to the lognormal ones as $\mu_\nu/\sigma_\nu$ grows.",
            sp.Symbol("E[exp(−kL|ν|)]"),
            folded_drift_moment(),
            r"\operatorname{E}\left[e^{-kL|\nu|}\right]",
        ),
        Result(
            "rectified_second_moment",
            "Programming and read noise clipped at zero conductance are rectified Gaussians; the "
            "mean is the smoothed ReLU, the second moment this.",
            sp.Symbol("E[max(0, m + s z)²]"),
            rectified_moments()[1],
            r"\operatorname{E}\left[\max(0, m + s z)^2\right]",
        ),
        Result(
            "pcm_device_mean",
            r"A device's conductance at time $t$ is the product of its independent programmed, "
            "drift and read factors, so its mean is the product of their means (and its second "
            "moment that of their second moments).",
            sp.Symbol("E[g(t)]"),
            pcm_device_moments()[0],
            r"\operatorname{E}[g(t)]",
        ),
    ]
