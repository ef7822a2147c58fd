"""Certify that diagonal blocks of the residual H − G vanish, one product per module.

tr((H − G)Σ₁) = Σ_m tr(Σ₁,m^½ (H − G)_mm Σ₁,m^½) over the modules m (a module's parameters form one
block). For a Gaussian v supported on block m, the product's block (H − G)_mm v is the zero vector
with probability zero unless (H − G)_mm = 0, so one product per module decides: if every entry of
the computed (H − G)_mm v is exactly 0.0, the block is zero (almost surely) and contributes exactly
nothing to the trace, nor to any per-parameter trace inside it. That happens structurally wherever
the logits are affine in the module's parameters once the others are fixed: convolutions, linear
layers and eval-mode batch norm followed by piecewise-linear activations (ReLU, pooling) — all of a
ReLU CNN or ResNet, and the last linear layer of any network. A block that is merely small is not
certified: it is estimated.

Two guards. The residual is (1/N) Σ_n Σ_c r_nc ∇²z_nc with weights r_n = softmax(z_n) − onehot(y_n);
when every weight is exactly 0 (a softmax saturated in floating point), every block computes to 0
whatever the network, so nothing is certified and the certificate says ``saturated``. And at most
``max_products`` products are spent: modules beyond them stay uncertified (estimated).

The Hutchinson estimate then runs on the uncertified modules only (probes supported on them),
which also removes the cross-module terms of the certified ones from its variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from empirical.curvature.hvp import SplitHessian
from empirical.curvature.probes import gaussian
from empirical.curvature.space import ParameterSpace


@dataclass(frozen=True)
class Certificate:
    """Modules whose residual block is certified zero, products spent, and whether the softmax saturated."""

    zero: frozenset[str]
    products: int
    saturated: bool = False


def saturated(model: nn.Module, x: Tensor, y: Tensor, *, batch_size: int) -> bool:
    """True if every residual weight softmax(z_n) − onehot(y_n) is exactly 0 over the split."""
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(y), batch_size):
            p = torch.softmax(model(x[start : start + batch_size].to(device)), dim=1)
            yb = y[start : start + batch_size].to(device)
            p[torch.arange(len(yb), device=device), yb] -= 1
            if bool((p != 0).any()):
                return False
    return True


def certified_zero_modules(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    space: ParameterSpace,
    *,
    batch_size: int,
    generator: torch.Generator,
    max_products: int | None = None,
) -> Certificate:
    """Modules of ``space`` (scaled) whose residual block is certified zero; at most ``max_products`` products."""
    modules = list(space.modules().items())
    if max_products is not None:
        modules = modules[: max(0, max_products)]
    if saturated(model, x, y, batch_size=batch_size):
        return Certificate(frozenset(), 0, saturated=True)
    if not modules:
        return Certificate(frozenset(), 0)
    op = SplitHessian(model, x, y, space, kind="residual", batch_size=batch_size)
    blocks = [space.slice_of(names) for _, names in modules]
    V = torch.zeros(space.dim, len(modules), device=space.device, dtype=space.dtype)
    for j, block in enumerate(blocks):
        V[block, j] = gaussian(block.stop - block.start, 1, generator, device=space.device, dtype=space.dtype)[:, 0]
    try:
        products = op.matmat(V)
    finally:
        op.release()
    zero = frozenset(m for j, ((m, _), block) in enumerate(zip(modules, blocks)) if not products[block, j].any())
    return Certificate(zero, op.matvecs)
