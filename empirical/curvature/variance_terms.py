"""The ingredients of the theory's variance of ΔL: gᵀΣ₁g (exact) and tr((HΣ₁)²) (Hutchinson).

``theory.predict.delta_loss_variance`` gives Var[ΔL] ≈ η² gᵀΣ₁g + ½ η⁴ tr((HΣ₁)²) (exact for a
quadratic loss), with g and H the gradient and Hessian of the loss at the trained weights. Here L
is the mean cross-entropy over the split (x, y) given, of the model in eval mode, as in
``empirical.curvature``; Σ₁^½ is ``scale`` (``empirical.experiment.noise.scale``), one tensor per noisy
parameter, and parameters absent from it get no noise.

- gᵀΣ₁g = ‖Σ₁^½ g‖²: one gradient of the split, no sampling (se 0).
- tr((HΣ₁)²) = ‖A‖_F² for the symmetric A = Σ₁^½ H Σ₁^½, estimated as the mean of ‖A z‖² over
  Rademacher probes z (E‖Az‖² = tr(AᵀA)); Var‖Az‖² = 2(‖A²‖_F² − Σ_i (A²)_ii²), lower than with
  Gaussian probes. One Hessian-vector product per probe (``curvature.hvp.SplitHessian``); the
  standard error is the engine's t-corrected one (±1.96·se is a 95% Student-t interval).

Example (an explicit operator, where ‖A‖_F² is known):
    >>> import torch
    >>> A = torch.diag(torch.arange(1.0, 51.0, dtype=torch.float64)); A[0, 1] = A[1, 0] = 2.0
    >>> est = frobenius_sq(lambda V: A @ V, 50, probes=40, generator=torch.Generator().manual_seed(0),
    ...                    device=A.device, dtype=A.dtype)
    >>> abs(est.value - float(A.square().sum())) < 4 * est.se
    True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from empirical.curvature import checks
from empirical.curvature.hvp import SplitHessian
from empirical.curvature.probes import rademacher
from empirical.curvature.sequential import mean_and_se
from empirical.curvature.space import ParameterSpace
from empirical.curvature.trace import eval_mode


@dataclass(frozen=True)
class FrobeniusEstimate:
    """‖A‖_F² with its standard error, from ``probes`` products, and the wall time."""

    value: float
    se: float
    probes: int
    seconds: float


def frobenius_sq(
    matmat: Callable[[Tensor], Tensor],
    dim: int,
    *,
    probes: int,
    generator: torch.Generator,
    device: torch.device,
    dtype: torch.dtype,
) -> FrobeniusEstimate:
    """‖A‖_F² = E‖Az‖² over Rademacher z, for ``matmat`` mapping (dim, k) to A @ (dim, k)."""
    start = time.perf_counter()
    checks.positive_int("dim", dim)
    if isinstance(probes, bool) or not isinstance(probes, int) or probes < 2:
        raise ValueError(f"probes must be an int >= 2 (a standard error needs two). Got {probes!r}.")
    checks.generator(generator)
    V = rademacher(dim, probes, generator, device=device, dtype=dtype)
    AV = matmat(V)
    if AV.shape != V.shape:
        raise ValueError(f"matmat must map ({dim}, k) to ({dim}, k). Got {tuple(AV.shape)}.")
    mean, se = mean_and_se(AV.double().square().sum(0).cpu().unsqueeze(1))
    return FrobeniusEstimate(float(mean[0]), float(se[0]), probes, time.perf_counter() - start)


def _space(model: nn.Module, scale: dict[str, Tensor]) -> ParameterSpace:
    checks.model_(model)
    names = checks.param_names(model, None)
    checked = checks.scale(model, names, scale)
    if checked is None:
        raise ValueError("scale is required: Σ₁^½ per noisy parameter.")
    return ParameterSpace.build(model, names, checked)


def grad_cov_grad(model: nn.Module, x: Tensor, y: Tensor, scale: dict[str, Tensor], *, batch_size: int = 1024) -> float:
    """gᵀΣ₁g = ‖Σ₁^½ g‖², g the gradient of the mean cross-entropy over (x, y); exact."""
    space = _space(model, scale)
    x, y = checks.data(x, y)
    checks.positive_int("batch_size", batch_size)
    grads = [torch.zeros_like(p) for p in space.params]
    with eval_mode(model):
        for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
            xb, yb = xb.to(space.device), yb.to(space.device)
            loss = nn.functional.cross_entropy(model(xb), yb, reduction="sum") / len(y)
            for acc, g in zip(grads, torch.autograd.grad(loss, space.params, allow_unused=True)):
                if g is not None:
                    acc += g.detach()
    return float(space.from_params(grads).double().square().sum())


def hsigma_sq_trace(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    scale: dict[str, Tensor],
    *,
    probes: int,
    batch_size: int = 1024,
    generator: torch.Generator,
) -> FrobeniusEstimate:
    """tr((HΣ₁)²) = ‖Σ₁^½ H Σ₁^½‖_F² over the scaled parameters, H of the mean cross-entropy on (x, y)."""
    space = _space(model, scale)
    x, y = checks.data(x, y)
    checks.positive_int("batch_size", batch_size)
    with eval_mode(model):
        op = SplitHessian(model, x, y, space, kind="hessian", batch_size=batch_size)
        try:
            return frobenius_sq(op.matmat, space.dim, probes=probes, generator=generator,
                                device=space.device, dtype=space.dtype)  # fmt: skip
        finally:
            op.release()
