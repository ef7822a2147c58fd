"""The benchmark's ground truth: the exact Hessian diagonal in float64, by code outside this package.

BackPACK's DiagHessian (second-order backpropagation, Dangel et al. 2020) where it supports every
layer; elsewhere (GELU, batch norm) curvlinops' ``HessianLinearOperator`` applied to the unit
vectors, up to ``EXACT_DIM`` parameters. Neither uses this package's product code, so a bug there
cannot hide in the reference. Both libraries are the ``[bench]`` extra of the package.
"""

from __future__ import annotations

import copy
import warnings
from types import ModuleType

import torch
from torch import Tensor, nn

from empirical.curvature import operator_diagonal

EXACT_DIM = 10_000  # where BackPACK lacks a layer, the diagonal by products up to this many parameters
INSTALL = "pip install -e '.[bench]'"


class MissingExtra(ImportError):
    """BackPACK or curvlinops is not installed; the message says how to install them."""


def libraries() -> tuple[ModuleType, ModuleType, ModuleType]:
    """``backpack``, ``backpack.extensions`` and ``curvlinops``, or :class:`MissingExtra`."""
    try:
        with warnings.catch_warnings():
            # linear_operator (under curvlinops) decorates functions with torch.jit.script at import
            warnings.filterwarnings("ignore", r"`torch\.jit\.script` is deprecated", DeprecationWarning)
            import backpack
            import backpack.extensions
            import curvlinops
    except ImportError as err:
        message = f"the exact reference needs BackPACK and curvlinops ({err.name} is missing): {INSTALL}"
        raise MissingExtra(message) from None
    return backpack, backpack.extensions, curvlinops


def reference_diagonal(model: nn.Module, x: Tensor, y: Tensor, *, chunk: int = 100) -> tuple[dict[str, Tensor], str]:
    """The exact Hessian diagonal of the mean cross-entropy per parameter (float64), and how it was computed.

    Works on a float64 copy, ``chunk`` samples at a time (BackPACK's memory grows fast with the
    batch for smooth activations), chunks weighted by their size.
    """
    backpack, extensions, curvlinops = libraries()
    m64 = copy.deepcopy(model).double().eval()
    x64 = x.double()
    try:
        extended, criterion = backpack.extend(m64), backpack.extend(nn.CrossEntropyLoss())
        diag = {n: torch.zeros_like(p) for n, p in extended.named_parameters()}
        for start in range(0, len(y), chunk):
            xb, yb = x64[start : start + chunk], y[start : start + chunk]
            extended.zero_grad()
            loss = criterion(extended(xb), yb)
            with warnings.catch_warnings(), backpack.backpack(extensions.DiagHessian()):
                # the inputs need no gradient, which torch reports for BackPACK's module hooks
                warnings.filterwarnings("ignore", "Full backward hook is firing", UserWarning)
                loss.backward()
            for n, p in extended.named_parameters():
                diag[n] += p.diag_h.detach() * (len(yb) / len(y))
        return diag, "exact: BackPACK DiagHessian (second-order backpropagation), float64"
    except NotImplementedError as err:  # BackPACK lacks a layer
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:120]
    m64 = copy.deepcopy(model).double().eval()
    named = [(n, p) for n, p in m64.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    dim = sum(p.numel() for p in params)
    if dim > EXACT_DIM:
        raise RuntimeError(f"no exact reference for {dim} parameters (> {EXACT_DIM}) where BackPACK fails ({reason})")
    batches = [(x64[s : s + chunk], y[s : s + chunk]) for s in range(0, len(y), chunk)]
    op = curvlinops.HessianLinearOperator(m64, nn.CrossEntropyLoss(), params, batches, check_deterministic=False)
    flat = operator_diagonal(lambda V: op @ V, dim, device=x64.device, dtype=torch.float64)
    diag = {n: d.view_as(p) for (n, p), d in zip(named, flat.split([p.numel() for p in params]))}
    return diag, f"exact: Hessian diagonal by {dim} unit-vector products (curvlinops), float64 (BackPACK: {reason})"


def weighted_trace(diag: dict[str, Tensor], scale: dict[str, Tensor] | None = None) -> float:
    """Σ diag (tr H), or Σ scale² · diag over the scaled parameters (tr HΣ₁; ``scale`` = Σ₁^½)."""
    if scale is None:
        return float(sum(d.sum() for d in diag.values()))
    return float(sum((diag[n] * s.double().to(diag[n].device).square()).sum() for n, s in scale.items()))
