"""Phase-change-memory (PCM) weight noise: the weights a PCM tile shows t seconds after programming.

The statistical model of aihwkit's `PCMLikeNoiseModel` (constants and their sources in
`empirical.experiment.pcm_constants`), per noise-target tensor W (one tile):

1. Map: x = |w| / w_max with w_max = max|W|; the device of the weight's sign gets the target
   g_T = x g_max, the other device of the pair g_T = 0 (aihwkit's single-pair converter).
2. Program each device: A = max(0, g_T + σ_prog(g_T) z₁).
3. Drift: D = ((t + t₀)/t₀)^(−|ν|), ν = μ_ν(g_T) + σ_ν(g_T) z₂.
4. Read noise: g = A D max(0, 1 + r z₃), r = Q_s(g_T) √log((t + t₀ + t_read)/(2 t_read)).
5. Back to weights: w̃ = (w_max / g_max)(g⁺ − g⁻), at t and at programming (A⁺ − A⁻).
6. Global drift compensation: w_out = α w̃(t), α = Σ|W_prog| / Σ|W̃(t)| over the tile's entries:
   aihwkit's `GlobalDriftCompensation`, which reads the tile with one-hot inputs and takes the
   mean absolute output, once after programming and once at t. (The all-ones probe its docs
   describe lets positive and negative columns cancel; the shipped one-hot readout is used here.)

Choices where aihwkit's tile and documentation differ, each kept for exact moments:
Q_s is evaluated at g_T (the documentation's fit), not at the noisy programmed conductance as the
source does; and every device of a pair is programmed, drifts and is read independently (the
documentation's model), whereas aihwkit's tile re-splits the programmed weight into one device
before drifting it. The weights seen do not depend on g_max: σ_prog scales with it, the other
fits use g_T / g_max. t is seconds after programming, t > 0.

Draws use common random numbers: `normals(shapes, noise_seed, k)` depends only on
(noise_seed, k) and the shapes, through `empirical.experiment.noise.draw`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from empirical.experiment import pcm_constants as pc
from empirical.experiment.noise import draw
from theory import predict_mean

FACTORS = ("programming", "drift", "read")  # axis 0 of a draw; axis 1: (positive, negative) device


def check_time(t: float) -> float:
    """t (seconds after programming) as a float, or ValueError unless finite and > 0."""
    value = float(t)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"inference time must be finite and > 0 seconds. Got {t!r}.")
    return value


def check_g_max(g_max: float) -> float:
    """g_max (µS) as a float, or ValueError unless finite and > 0."""
    value = float(g_max)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"g_max must be finite and > 0 µS. Got {g_max!r}.")
    return value


def target_conductances(w: Tensor, g_max: float = pc.G_MAX) -> tuple[Tensor, float]:
    """(g_T, w_max/g_max): g_T of shape (2, *w.shape) in µS, [0] the positive and [1] the negative
    device; the scale converts µS back to weight units. ValueError for an all-zero or non-finite w."""
    g_max = check_g_max(g_max)
    w_max = w.detach().abs().max().item() if w.numel() else 0.0
    if not (math.isfinite(w_max) and w_max > 0):
        raise ValueError(f"weights must be finite and not all zero; max|w| = {w_max!r}")
    scaled = w * (g_max / w_max)
    return torch.stack([scaled.clamp(min=0.0), (-scaled).clamp(min=0.0)]), w_max / g_max


def programming_std(g_target: Tensor, g_max: float = pc.G_MAX) -> Tensor:
    """σ_prog(g_T) in µS for targets g_T in µS (the quadratic fit)."""
    g_max = check_g_max(g_max)
    x = g_target / g_max
    c0, c1, c2 = pc.PROG_COEFFS
    return (c0 + c1 * x + c2 * x * x) * (g_max / pc.G_MAX)


def drift_exponent(g_target: Tensor, g_max: float = pc.G_MAX) -> tuple[Tensor, Tensor]:
    """(μ_ν, σ_ν): mean and std of the drift exponent before the fold |ν|, for g_T in µS."""
    log_x = torch.log((g_target / check_g_max(g_max)).clamp(min=pc.ZERO_CLIP))
    mean = (pc.NU_MEAN_FIT[0] * log_x + pc.NU_MEAN_FIT[1]).clamp(*pc.NU_MEAN_CLIP)
    std = (pc.NU_STD_FIT[0] * log_x + pc.NU_STD_FIT[1]).clamp(*pc.NU_STD_CLIP)
    return mean, std


def log_time(t: float) -> float:
    """L = log((t + t₀)/t₀): the drift factor is e^{−L|ν|}; t in seconds after programming."""
    return math.log((check_time(t) + pc.T_0) / pc.T_0)


def read_std(g_target: Tensor, t: float, g_max: float = pc.G_MAX) -> Tensor:
    """r = Q_s(g_T) √log((t + t₀ + t_read)/(2 t_read)): read-noise std relative to the drifted
    conductance (σ_nG = g_drift r); g_T in µS, t seconds after programming."""
    x = g_target / check_g_max(g_max)
    q_s = (pc.Q_S_SCALE / (x**pc.Q_S_EXPONENT).clamp(min=pc.Q_S_FLOOR)).clamp(max=pc.Q_S_MAX)
    total = check_time(t) + pc.T_0
    return q_s * math.sqrt(math.log((total + pc.T_READ) / (2 * pc.T_READ)))


@dataclass(frozen=True)
class Devices:
    """One tile's device parameters at time t; tensors of shape (2, *w.shape), µS where a conductance."""

    target: Tensor  # g_T
    prog_std: Tensor  # σ_prog(g_T)
    nu_mean: Tensor  # μ_ν(g_T)
    nu_std: Tensor  # σ_ν(g_T)
    read_std: Tensor  # r(g_T, t), relative
    log_time: float  # L = log((t + t₀)/t₀)
    scale: float  # w_max / g_max: weight units per µS


def devices(w: Tensor, t: float, g_max: float = pc.G_MAX) -> Devices:
    """The device parameters of the tile holding w at t seconds after programming."""
    target, scale = target_conductances(w, g_max)
    nu_mean, nu_std = drift_exponent(target, g_max)
    return Devices(
        target,
        programming_std(target, g_max),
        nu_mean,
        nu_std,
        read_std(target, t, g_max),
        log_time(t),
        scale,
    )


def normals(shapes: dict[str, torch.Size], noise_seed: int, index: int) -> dict[str, Tensor]:
    """The standard normals of draw `index`: per name a CPU tensor of shape (3, 2, *shape), axis 0
    the factor (programming, drift, read; see FACTORS), axis 1 the device (positive, negative)."""
    return draw(
        {name: torch.Size((len(FACTORS), 2, *shape)) for name, shape in shapes.items()},
        noise_seed,
        index,
    )


def programmed(d: Devices, z: Tensor) -> Tensor:
    """A = max(0, g_T + σ_prog z): programmed conductances (µS), z of the shape of d.target."""
    return (d.target + d.prog_std * z).clamp(min=0.0)


def exponent(d: Devices, z: Tensor) -> Tensor:
    """|ν| = |μ_ν + σ_ν z|: the drift exponents, z of the shape of d.target."""
    return (d.nu_mean + d.nu_std * z).abs()


def read_factor(d: Devices, z: Tensor) -> Tensor:
    """max(0, 1 + r z): the read-noise factor on the drifted conductance, z of d.target's shape."""
    return (1.0 + d.read_std * z).clamp(min=0.0)


def compensation(w_programmed: Tensor, w_now: Tensor) -> Tensor:
    """α = Σ|W_prog| / Σ|W(t)|: the tile's summed absolute response to one-hot inputs after
    programming over that at t (aihwkit's GlobalDriftCompensation); a 0-d tensor."""
    return w_programmed.abs().sum() / w_now.abs().sum()


def noisy_weights(w: Tensor, t: float, z: Tensor, sign: float = 1.0, g_max: float = pc.G_MAX) -> Tensor:
    """The drift-compensated weights the tile shows t seconds after programming, for the draw z.

    w: the trained tensor (one tile), any shape; z: shape (3, 2, *w.shape) from `normals`, on w's
    device; sign: +1, or −1 for the antithetic partner (−z in every Gaussian input). Same shape,
    dtype and device as w. Cost: about twenty elementwise operations per entry.
    """
    return noisy_weights_of(devices(w.detach(), t, g_max), z, sign)


def noisy_weights_of(d: Devices, z: Tensor, sign: float = 1.0) -> Tensor:
    """`noisy_weights` for a tile whose device parameters ``d`` (from `devices`) are already known."""
    if sign not in (1.0, -1.0):
        raise ValueError(f"sign must be +1 or -1. Got {sign!r}.")
    if z.shape != (len(FACTORS), 2, *d.target.shape[1:]):
        raise ValueError(f"z must have shape {(len(FACTORS), 2, *d.target.shape[1:])}. Got {tuple(z.shape)}.")
    z = sign * z
    start = programmed(d, z[0])
    now = start * torch.exp(-d.log_time * exponent(d, z[1])) * read_factor(d, z[2])
    w_now = d.scale * (now[0] - now[1])
    return compensation(d.scale * (start[0] - start[1]), w_now) * w_now


def _weight_moments(
    w: Tensor, t: float, g_max: float
) -> tuple[Devices, np.ndarray, Callable[[float], tuple[np.ndarray, np.ndarray]]]:
    """(devices, w as float64 numpy, α ↦ (μ, σ²) of ε for a constant compensation α)."""
    d = devices(w.detach().to(torch.float64), t, g_max)
    fields = [getattr(d, name).cpu().numpy() for name in predict_mean.DEVICE_FIELDS]
    positive, negative = tuple(f[0] for f in fields), tuple(f[1] for f in fields)
    clean = w.detach().to(torch.float64).cpu().numpy()

    def at(alpha: float) -> tuple[np.ndarray, np.ndarray]:
        return predict_mean.pcm_weight_moments(clean, d.scale, alpha, d.log_time, positive, negative)

    return d, clean, at


def uncompensated_moments(w: Tensor, t: float, g_max: float = pc.G_MAX) -> tuple[Tensor, Tensor]:
    """(μ, σ²) of w̃(t) − w, w̃ = (w_max/g_max)(g⁺ − g⁻) before compensation: exact. Shapes of w,
    float64, on w's device."""
    _, _, at = _weight_moments(w, t, g_max)
    return tuple(torch.from_numpy(v).to(w.device) for v in at(1.0))


def expected_compensation(w: Tensor, t: float, g_max: float = pc.G_MAX) -> float:
    """α* = Σ|E W_prog| / Σ|E W̃(t)|: `compensation` at the expected weights (exact expectations)."""
    d, clean, at = _weight_moments(w, t, g_max)
    first, _ = predict_mean.programmed_moments(d.target.cpu().numpy(), d.prog_std.cpu().numpy())
    mean_programmed = d.scale * (first[0] - first[1])
    return float(np.abs(mean_programmed).sum() / np.abs(at(1.0)[0] + clean).sum())


def moments(w: Tensor, t: float, g_max: float = pc.G_MAX) -> tuple[Tensor, Tensor]:
    """(μ, σ²): per-entry mean and variance of ε = noisy_weights(w, t, z) − w over z.

    Shapes of w, float64, on w's device, in weight units (σ² squared). Exact for the
    uncompensated weight w̃(t): each device's first two moments in closed form (theory.mean_noise:
    rectified Gaussian programming and read noise, the folded-normal drift exponent's moment
    generating function), devices independent. Approximated: the compensation is the constant
    α* of `expected_compensation` instead of the draw's random ratio, which drops (i) the ratio's
    O(1/n) bias, n the tile's entries, (ii) its fluctuation, a rank-one covariance Var(α) w wᵀ left
    out of the returned diagonal, (iii) its correlation with the entry, O(1/n) per entry, and
    (iv) the gap between E|w̃| and |E w̃| for entries whose distribution reaches 0.
    """
    _, _, at = _weight_moments(w, t, g_max)
    return tuple(torch.from_numpy(v).to(w.device) for v in at(expected_compensation(w, t, g_max)))


@dataclass(frozen=True)
class Tiles:
    """The pcm noise model as the Monte Carlo uses it (:class:`empirical.experiment.noise.Source`):
    one tile per noise target of ``shapes``, levels are times t (s after programming). One instance per
    trained model: it keeps the device parameters of the weights it first sees."""

    shapes: dict[str, torch.Size]
    g_max: float = pc.G_MAX
    # Device parameters per (name, t), computed once: they depend on the trained weights and t only.
    _devices: dict[tuple[str, float], Devices] = field(default_factory=dict, compare=False, repr=False)

    def normals(self, noise_seed: int, index: int) -> dict[str, Tensor]:
        return normals(self.shapes, noise_seed, index)

    def weights(self, params: dict[str, Tensor], z: dict[str, Tensor], level: float, sign: float) -> dict[str, Tensor]:
        for name in self.shapes:
            if (name, level) not in self._devices:
                self._devices[(name, level)] = devices(params[name].detach(), level, self.g_max)
        return {name: noisy_weights_of(self._devices[(name, level)], z[name], sign) for name in self.shapes}
