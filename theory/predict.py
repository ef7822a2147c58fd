"""Numeric predictions, lambdified from the derived expressions (never retyped).

Conventions: noise_level is η, with noise covariance Σ(η) = η² Σ₁ (Σ₁ of the noise model, see
theory.noise_models). The curvature inputs are measured at Σ₁ on the same loss as ΔL (e.g. mean
test cross-entropy): noise_trace = tr(HΣ₁); fourth_moment = E_v[D⁴L(w)[v, v, v, v]] with
v ~ N(0, Σ₁); grad_cov_grad = gᵀΣ₁g; hsigma_sq_trace = tr((HΣ₁)²). Every argument is a float or a
numpy array (broadcast together); results have the broadcast shape.

>>> float(delta_loss_second_order(0.5, 48.0))
6.0
>>> float(stability_bound(0.5, 0.5))
6.0
"""

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike

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


@lru_cache(maxsize=None)
def _compiled(name: str) -> Callable[..., np.ndarray]:
    """The lambdified derivation `name`; derived on first use, then cached."""
    expressions = {
        "second_order": lambda: ((eta, noise_trace), noise_level_expansion(2)),
        "fourth_order": lambda: ((eta, noise_trace, fourth_moment), noise_level_expansion(4)),
        "variance": lambda: ((eta, grad_cov_grad, hsigma_sq_trace), variance_in_noise_level()),
        "stability": lambda: ((lr, beta), heavy_ball_bound()),
    }
    args, expr = expressions[name]()
    return sp.lambdify(args, expr, modules="numpy")


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
