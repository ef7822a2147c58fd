"""Every derived result as a named equation with a one-line sentence, for printing and the paper."""

from dataclasses import dataclass

import sympy as sp

from theory.closed_forms import (
    fourth_order_term,
    noise_level_expansion,
    quadratic_exactness,
    second_order,
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
    return results
