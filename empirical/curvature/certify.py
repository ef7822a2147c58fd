"""Certify that diagonal blocks of the residual H − G vanish, one product per module.

tr((H − G)Σ₁) = Σ_m tr(Σ₁,m^½ (H − G)_mm Σ₁,m^½) over the modules m (a module's parameters form one
block). For a symmetric block A and a Gaussian v, vᵀAv = 0 has probability zero unless A = 0, so
one product per module decides: if the computed vᵀ(H − G)_mm v is exactly 0.0, the block is zero
(almost surely) and contributes exactly nothing to the trace, nor to any per-parameter trace
inside it. That happens structurally wherever the logits are affine in the module's parameters
once the others are fixed: convolutions, linear layers and eval-mode batch norm followed by
piecewise-linear activations (ReLU, pooling) — all of a ReLU CNN or ResNet, and the last linear
layer of any network. A value that is merely small is not certified: that block is estimated.

The Hutchinson estimate then runs on the uncertified modules only (probes supported on them),
which also removes the cross-module terms of the certified ones from its variance.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from empirical.curvature.hvp import SplitHessian
from empirical.curvature.probes import gaussian
from empirical.curvature.space import ParameterSpace


def certified_zero_modules(
    model: nn.Module, x: Tensor, y: Tensor, space: ParameterSpace, *, batch_size: int, generator: torch.Generator
) -> tuple[set[str], int]:
    """Modules whose residual block (in ``space``, i.e. scaled) is certified zero, and products used."""
    modules = space.modules()
    op = SplitHessian(model, x, y, space, kind="residual", batch_size=batch_size)
    V = torch.zeros(space.dim, len(modules), device=space.device, dtype=space.dtype)
    for j, names in enumerate(modules.values()):
        block = space.slice_of(names)
        V[block, j] = gaussian(block.stop - block.start, 1, generator, device=space.device, dtype=space.dtype)[:, 0]
    try:
        forms = (V * op.matmat(V)).sum(0)
    finally:
        op.release()
    return {m for m, q in zip(modules, forms.tolist()) if q == 0.0}, op.matvecs
