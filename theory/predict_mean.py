"""Numeric predictions for noise with a mean, lambdified from theory.mean_noise (never retyped).

Every argument is a float or a numpy array (broadcast together); results have the broadcast shape.
The curvature inputs are measured at the clean weights w on the loss ΔL is measured on:
grad_mean = gᵀμ, mean_curvature = μᵀHμ, noise_trace = tr(HΣ), with μ and Σ the noise's own mean
and covariance at the level (e.g. the time) of interest, not at a unit level.

>>> float(delta_loss_with_mean(0.5, 2.0, 4.0))
3.5
"""

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike

from theory import mean_noise as derivations
from theory.closed_forms import TRACE_H_SIGMA

_grad_mean, _mean_curvature, _trace = sp.symbols("grad_mean mean_curvature noise_trace", real=True)
_device_names = (
    derivations.target,
    derivations.prog_std,
    derivations.nu_mean,
    derivations.nu_std,
    derivations.read_std,
)
_device_args = (*_device_names[:4], derivations.log_time, derivations.read_std)
DEVICE_FIELDS = ("target", "prog_std", "nu_mean", "nu_std", "read_std")


@lru_cache(maxsize=None)
def _compiled(name: str) -> Callable[..., object]:
    """The lambdified derivation `name`; derived on first use, then cached."""
    if name == "with_mean":
        expr = derivations.second_order_with_mean().xreplace(
            {
                derivations.GRAD_MEAN: _grad_mean,
                derivations.MEAN_CURVATURE: _mean_curvature,
                TRACE_H_SIGMA: _trace,
            }
        )
        if expr.free_symbols != {_grad_mean, _mean_curvature, _trace}:
            raise ArithmeticError(f"E[ΔL] with a mean is not a function of the three products: {expr}")
        return sp.lambdify((_grad_mean, _mean_curvature, _trace), expr, modules="numpy")
    if name == "device":
        return sp.lambdify(_device_args, derivations.pcm_device_moments(), modules=["scipy", "numpy"])
    if name == "weight":
        sides = [derivations.device_symbols(side) for side in (derivations.PLUS, derivations.MINUS)]
        args = (
            derivations.weight,
            derivations.weight_scale,
            derivations.alpha,
            derivations.log_time,
            *(side[s] for side in sides for s in _device_names),
        )
        return sp.lambdify(args, derivations.pcm_weight_moments(), modules=["scipy", "numpy"])
    if name == "programmed":
        args = (derivations.gauss_mean, derivations.gauss_std)
        return sp.lambdify(args, derivations.rectified_moments(), modules=["scipy", "numpy"])
    raise ValueError(f"no derivation named {name!r}")


def delta_loss_with_mean(
    grad_mean: ArrayLike, mean_curvature: ArrayLike, noise_trace: ArrayLike
) -> np.ndarray:
    """E[ΔL] to second order for noise with mean μ and covariance Σ: gᵀμ + ½ μᵀHμ + ½ tr(HΣ)."""
    return np.asarray(
        _compiled("with_mean")(*(np.asarray(v, float) for v in (grad_mean, mean_curvature, noise_trace)))
    )


def _positive(name: str, value: ArrayLike) -> np.ndarray:
    array = np.asarray(value, float)
    if np.any(~(array > 0)):
        raise ValueError(f"{name} must be > 0. Got {value!r}.")
    return array


def pcm_device_moments(
    target: ArrayLike,
    prog_std: ArrayLike,
    nu_mean: ArrayLike,
    nu_std: ArrayLike,
    log_time: ArrayLike,
    read_std: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """(E[g], E[g²]) of a PCM device g = max(0, g_T + σ_prog z₁) e^{−L|μ_ν + σ_ν z₂|} max(0, 1 + r z₃).

    target g_T ≥ 0 and prog_std σ_prog > 0 in one conductance unit (the result's, squared for
    E[g²]); nu_mean μ_ν > 0 and nu_std σ_ν > 0 the drift exponent's mean and std; log_time
    L = log(t/t_c) > 0; read_std r > 0 the relative read-noise std. Exact (theory.mean_noise).
    """
    g_t = np.asarray(target, float)
    if np.any(~(g_t >= 0)):
        raise ValueError(f"target must be >= 0. Got {target!r}.")
    args = [g_t] + [
        _positive(name, value)
        for name, value in zip(
            ("prog_std", "nu_mean", "nu_std", "log_time", "read_std"),
            (prog_std, nu_mean, nu_std, log_time, read_std),
        )
    ]
    first, second = _compiled("device")(*args)
    return np.asarray(first, float), np.asarray(second, float)


def programmed_moments(target: ArrayLike, prog_std: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(E[A], E[A²]) of the programmed conductance A = max(0, g_T + σ_prog z) (units of target);
    prog_std > 0."""
    first, second = _compiled("programmed")(np.asarray(target, float), _positive("prog_std", prog_std))
    return np.asarray(first, float), np.asarray(second, float)


def pcm_weight_moments(
    weight: ArrayLike,
    scale: float,
    alpha: float,
    log_time: float,
    positive: tuple[ArrayLike, ...],
    negative: tuple[ArrayLike, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """(μ, σ²) of ε = α c (g⁺ − g⁻) − w for a constant compensation α: exact given α.

    weight w (weight units); scale c = w_max/g_max (weight units per conductance unit); alpha > 0;
    log_time L > 0; positive and negative: each device's (target, prog_std, nu_mean, nu_std,
    read_std) as in pcm_device_moments (DEVICE_FIELDS), broadcast with weight.
    """
    for name, value in (("scale", scale), ("alpha", alpha), ("log_time", log_time)):
        _positive(name, value)
    for side in (positive, negative):
        if len(side) != len(DEVICE_FIELDS):
            raise ValueError(f"a device is {DEVICE_FIELDS}. Got {len(side)} values.")
        pcm_device_moments(*side[:4], log_time, side[4])  # checks the device arguments
    mean, variance = _compiled("weight")(
        np.asarray(weight, float), scale, alpha, log_time, *(np.asarray(v, float) for v in (*positive, *negative))
    )
    return np.asarray(mean, float), np.asarray(variance, float)
