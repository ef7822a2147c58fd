"""Numeric predictions, lambdified from the derived expressions (never retyped).

Conventions: noise_level is η, with noise covariance Σ(η) = η² Σ₁ (Σ₁ of the noise model, see
theory.noise_models). The curvature inputs are measured at Σ₁ on the same loss as ΔL (e.g. mean
test cross-entropy): noise_trace = tr(HΣ₁); fourth_moment = E_v[D⁴L(w)[v, v, v, v]] with
v ~ N(0, Σ₁); grad_cov_grad = gᵀΣ₁g; hsigma_sq_trace = tr((HΣ₁)²). Every argument is a float or a
numpy array (broadcast together); results have the broadcast shape.

Activation kinks (theory.kinks): a unit's pre-activation a and the standard deviation s of its
perturbation are in the same units (those of a); at noise level η, s = η τ with τ² the
pre-activation's noise variance at η = 1 (τ² = ∂a/∂w Σ₁ ∂a/∂wᵀ, a row of the Jacobian of a in w).

>>> float(delta_loss_second_order(0.5, 48.0))
6.0
>>> float(stability_bound(0.5, 0.5))
6.0
>>> round(float(kink_bracket(0.0, 1.0)), 6)  # 1/√(2π) at the kink
0.398942
"""

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike

from theory import kinks as derivations
from theory import notation
from theory.closed_forms import noise_level_expansion
from theory.notation import (
    beta,
    eta,
    fourth_moment,
    grad_cov_grad,
    hsigma_sq_trace,
    lr,
    noise_trace,
)
from theory.stability import heavy_ball_bound
from theory.variance import variance_in_noise_level


_EXPRESSIONS: dict[str, Callable[[], tuple[tuple[sp.Symbol, ...], sp.Expr]]] = {
    "second_order": lambda: ((eta, noise_trace), noise_level_expansion(2)),
    "fourth_order": lambda: ((eta, noise_trace, fourth_moment), noise_level_expansion(4)),
    "variance": lambda: ((eta, grad_cov_grad, hsigma_sq_trace), variance_in_noise_level()),
    "stability": lambda: ((lr, beta), heavy_ball_bound()),
}
_KINK_PIECES = ("kink_bracket", "with_kinks", "kink_summand", "max_pool")  # the names _compiled_kinks knows


@lru_cache(maxsize=None)
def _compiled(name: str) -> Callable[..., np.ndarray]:
    """The lambdified derivation `name`; derived on first use, then cached."""
    args, expr = _EXPRESSIONS[name]()
    return sp.lambdify(args, expr, modules="numpy")


_KINK_X_MAX = 40.0  # B(x, 1) < φ(x)/x² underflows to 0 in float64 for |x| > 39
_kink_total = sp.Symbol("kink")  # the kink term of kink_prediction, computed by kink_term
_kink_args = sp.symbols("a tau gamma c Delta", real=True)  # one unit and one kink of KINK_TERM


def _kink_summand() -> sp.Expr:
    """The summand of kink_prediction's sum over samples, units and kinks, for one of each."""
    (term,) = (t for t in derivations.kink_prediction().args if isinstance(t, sp.Sum))
    bases = (notation.unit_pre, notation.unit_std, notation.unit_grad)
    names = dict(zip((*bases, notation.kink_pos, notation.kink_jump), _kink_args))
    return term.function.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base in names, lambda e: names[e.base]
    )


def _split_bracket(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(coefficient, x, s) of expr = coefficient · B(x, s), or ArithmeticError."""
    (b,) = expr.atoms(notation.bracket)
    coefficient = sp.cancel(expr / b)
    if coefficient.has(notation.bracket):
        raise ArithmeticError(f"{expr} is not linear in one kink bracket")
    return coefficient, *b.args


@lru_cache(maxsize=None)
def _compiled_kinks(name: str) -> tuple[Callable[..., np.ndarray], ...]:
    """Lambdified pieces of the kink derivations (theory.kinks); derived on first use."""
    if name == "kink_bracket":  # B(x, 1); B(a, s) = s B(a/s, 1), checked in theory.kinks
        expr = derivations.explicit(derivations.kink_bracket()).subs(notation.pre_std, 1)
        return (sp.lambdify((notation.pre,), expr, modules=["scipy", "numpy"]),)
    if name == "with_kinks":
        expr = derivations.kink_prediction().xreplace({derivations.KINK_TERM: _kink_total})
        return (sp.lambdify((eta, noise_trace, _kink_total), expr, modules="numpy"),)
    if name == "kink_summand":
        args, pieces = (eta, *_kink_args), _split_bracket(_kink_summand())
    elif name == "max_pool":
        coefficient, x, std = _split_bracket(derivations.max_pool_bracket())
        d = derivations
        args = (notation.pre, d.other_pre, d.std_a, d.std_b, d.cov_ab)
        pieces = (coefficient, x, std**2)
    else:
        raise ValueError(f"no kink derivation named {name!r}")
    return tuple(sp.lambdify(args, piece, modules="numpy") for piece in pieces)


def compile_all() -> None:
    """Derive and lambdify every prediction of this module now rather than on first use: a process that
    forks workers calls it once, and each worker inherits the results instead of deriving them again."""
    for name in _EXPRESSIONS:
        _compiled(name)
    for name in _KINK_PIECES:
        _compiled_kinks(name)


def _noise_level(noise_level: ArrayLike) -> np.ndarray:
    level = np.asarray(noise_level, dtype=float)
    if np.any(level < 0):
        raise ValueError(f"noise_level must be >= 0. Got {noise_level!r}.")
    return level


def delta_loss_second_order(noise_level: ArrayLike, noise_trace: ArrayLike) -> np.ndarray:
    """E[ΔL] to second order: ½ η² tr(HΣ₁)."""
    return _compiled("second_order")(_noise_level(noise_level), np.asarray(noise_trace, float))


def delta_loss_fourth_order(
    noise_level: ArrayLike, noise_trace: ArrayLike, fourth_moment: ArrayLike
) -> np.ndarray:
    """E[ΔL] to fourth order: ½ η² tr(HΣ₁) + η⁴ E_v[D⁴L[v, v, v, v]] / 24, v ~ N(0, Σ₁)."""
    return _compiled("fourth_order")(
        _noise_level(noise_level),
        np.asarray(noise_trace, float),
        np.asarray(fourth_moment, float),
    )


def delta_loss_variance(
    noise_level: ArrayLike, grad_cov_grad: ArrayLike, hsigma_sq_trace: ArrayLike
) -> np.ndarray:
    """Var[ΔL] to leading order: η² gᵀΣ₁g + ½ η⁴ tr((HΣ₁)²) (exact for a quadratic loss)."""
    return _compiled("variance")(
        _noise_level(noise_level),
        np.asarray(grad_cov_grad, float),
        np.asarray(hsigma_sq_trace, float),
    )


def stability_bound(lr: ArrayLike, momentum: ArrayLike) -> np.ndarray:
    """2(1 + β)/lr: heavy-ball momentum β on a quadratic is stable iff 0 < λ < this bound.

    lr > 0 and 0 ≤ momentum < 1 (the range the bound is derived for), else ValueError.
    """
    lr_array, momentum_array = np.asarray(lr, dtype=float), np.asarray(momentum, dtype=float)
    if np.any(lr_array <= 0):
        raise ValueError(f"lr must be > 0. Got {lr!r}.")
    if np.any((momentum_array < 0) | (momentum_array >= 1)):
        raise ValueError(f"momentum must be in [0, 1). Got {momentum!r}.")
    return _compiled("stability")(lr_array, momentum_array)


def kink_bracket(pre_activation: ArrayLike, std: ArrayLike) -> np.ndarray:
    """B(a, s) = E[relu(a + δ)] − relu(a) = s φ(a/s) − |a| Φ(−|a|/s), δ ~ N(0, s²).

    What a ReLU unit's kink adds to its mean output beyond the second-order term (zero off the
    kink). pre_activation a and std s ≥ 0 in the units of a, broadcast together; B(a, 0) = 0 (the
    s → 0 limit). Computed as s B(a/s, 1), Φ through erfc: accurate in the tails, exactly 0 in
    float64 beyond |a|/s ≈ 38.
    """
    a, s = np.broadcast_arrays(np.asarray(pre_activation, float), np.asarray(std, float))
    if np.any(~(s >= 0)):
        raise ValueError(f"std must be >= 0. Got {std!r}.")
    positive = s > 0
    safe = np.where(positive, s, 1.0)
    with np.errstate(over="ignore"):  # |a|/s → inf is clipped where B(x, 1) is 0 in float64
        x = np.clip(a / safe, -_KINK_X_MAX, _KINK_X_MAX)
    (unit_bracket,) = _compiled_kinks("kink_bracket")
    return np.where(positive, safe * unit_bracket(x), 0.0)


def activation_kinks(name: str, negative_slope: float = 0.01) -> tuple[tuple[float, float], ...]:
    """((c_j, Δ_j), ...): the kinks and slope jumps of 'relu', 'leaky_relu' (negative slope α,
    jump 1 − α) or 'hardtanh' (clip to [−1, 1]), from their checked decompositions."""
    _, kink_list = derivations.activation_decomposition(name)
    return tuple(
        (float(c), float(sp.sympify(d).subs(notation.negative_slope, negative_slope)))
        for c, d in kink_list
    )


def kink_term(
    noise_level: ArrayLike,
    pre_activation: ArrayLike,
    unit_std: ArrayLike,
    unit_grad: ArrayLike,
    kinks: Sequence[tuple[float, float]] = ((0.0, 1.0),),
) -> np.ndarray:
    """Σ_n Σ_k Σ_j γ_nk Δ_j B(a_nk − c_j, η τ_nk): the kink part of delta_loss_with_kinks.

    pre_activation a_nk (clean), unit_std τ_nk (its noise std at η = 1) and unit_grad
    γ_nk = ∂L/∂h_nk (the gradient of the loss, e.g. the mean over samples, with respect to the
    unit's output h_nk) broadcast together, any shape (e.g. samples × units); all their entries are
    summed. kinks: the activation's (c_j, Δ_j), e.g. activation_kinks("relu"). The result has the
    shape of noise_level.
    """
    levels = _noise_level(noise_level)
    a, tau, gamma = np.broadcast_arrays(
        *(np.asarray(x, float) for x in (pre_activation, unit_std, unit_grad))
    )
    if np.any(~(tau >= 0)):
        raise ValueError(f"unit_std must be >= 0. Got {unit_std!r}.")
    pairs = [tuple(map(float, pair)) for pair in kinks]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"kinks must be a non-empty sequence of (c, Delta) pairs. Got {kinks!r}.")
    coefficient, x, s = _compiled_kinks("kink_summand")
    total = np.zeros(levels.shape)
    for index, level in np.ndenumerate(levels):
        for c, jump in pairs:
            args = (level, a, tau, gamma, c, jump)
            total[index] += np.sum(coefficient(*args) * kink_bracket(x(*args), s(*args)))
    return total


def delta_loss_with_kinks(
    noise_level: ArrayLike, noise_trace: ArrayLike, kink_term: ArrayLike
) -> np.ndarray:
    """E[ΔL](η) ≈ ½ η² tr(HΣ₁) + kink term: kink_term is kink_term(η, ...) at the same η.

    For piecewise-linear activations the autograd Hessian is zero across kinks; the kink term is
    what the noise adds there, to first order in the unit outputs (theory.kinks).
    """
    (prediction,) = _compiled_kinks("with_kinks")
    return prediction(
        _noise_level(noise_level), np.asarray(noise_trace, float), np.asarray(kink_term, float)
    )


def max_pool_bracket(
    pre_a: ArrayLike, pre_b: ArrayLike, std_a: ArrayLike, std_b: ArrayLike, cov_ab: ArrayLike
) -> np.ndarray:
    """E[max(a + δ_a, b + δ_b)] − max(a, b) = B(a − b, √(s_a² + s_b² − 2 c_ab)).

    Two inputs of a max-pool with noise stds s_a, s_b ≥ 0 and noise covariance c_ab, all
    broadcast together, in the units of a. A variance of a − b below 0 by more than rounding
    (1e-12 relative) raises ValueError.
    """
    coefficient, x, variance = _compiled_kinks("max_pool")
    args = [np.asarray(v, float) for v in (pre_a, pre_b, std_a, std_b, cov_ab)]
    if np.any(~(args[2] >= 0)) or np.any(~(args[3] >= 0)):
        raise ValueError(f"std_a and std_b must be >= 0. Got {std_a!r} and {std_b!r}.")
    var = np.asarray(variance(*args), float)
    if np.any(var < -1e-12 * (args[2] ** 2 + args[3] ** 2)):
        raise ValueError(
            f"std_a² + std_b² − 2 cov_ab must be >= 0 (|cov_ab| <= std_a std_b). Got {var!r}."
        )
    return coefficient(*args) * kink_bracket(x(*args), np.sqrt(np.maximum(var, 0.0)))
