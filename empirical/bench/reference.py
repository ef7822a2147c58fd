"""The benchmark's ground truth: tr(H) and tr(HΣ₁) in float64, by code outside this package.

:func:`reference_traces` takes the first that applies:

1. the exact Hessian diagonal by BackPACK's DiagHessian (second-order backpropagation, Dangel et
   al. 2020), taught the exact GELU (``backpack_gelu``), where it supports every layer;
2. elsewhere (batch norm) the exact diagonal by curvlinops' ``HessianLinearOperator`` on the unit
   vectors, up to ``EXACT_DIM`` parameters;
3. else (or with ``method="split"``) tr(GΣ₁) exact plus tr((H − G)Σ₁) by a Hutchinson run with its
   standard error (``split``).

Exact values carry se 0. None uses this package's curvature code, so a bug there cannot hide in
the reference. BackPACK and curvlinops are the ``[bench]`` extra of the package.
"""

from __future__ import annotations

import copy
import math
import statistics
import warnings
from dataclasses import dataclass
from types import ModuleType

import torch
from torch import Tensor, nn

from empirical.bench import split
from empirical.curvature import operator_diagonal

EXACT_DIM = 10_000  # where BackPACK lacks a layer, the diagonal by products up to this many parameters
INSTALL = "pip install -e '.[bench]'"
METHODS = ("auto", "split")


@dataclass(frozen=True)
class ReferenceTrace:
    """A reference trace of the mean cross-entropy (float64), its standard error (0: exact) and the
    Hutchinson probes behind that error (0: exact)."""

    value: float
    se: float = 0.0
    probes: int = 0

    @property
    def rel_se(self) -> float:
        return self.se / abs(self.value) if self.value else math.inf


@dataclass(frozen=True)
class Reference:
    """tr(H), tr(HΣ₁) (None without a scale) and how they were computed."""

    trace: ReferenceTrace
    noise_trace: ReferenceTrace | None
    method: str


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


def backpack_diagonal(model: nn.Module, x: Tensor, y: Tensor, *,
                      chunk: int = 100) -> tuple[dict[str, Tensor] | None, str]:  # fmt: skip
    """BackPACK's exact Hessian diagonal per parameter (float64) and how, or None and why it failed.

    Works on a float64 copy, ``chunk`` samples at a time (BackPACK's memory grows fast with the
    batch for smooth activations), chunks weighted by their size.
    """
    backpack, extensions, _ = libraries()
    from empirical.bench import backpack_gelu  # imports BackPACK, which libraries() has loaded

    extended = backpack.extend(copy.deepcopy(model).double().eval())
    criterion, x64 = backpack.extend(nn.CrossEntropyLoss()), x.double()
    diag = {n: torch.zeros_like(p) for n, p in extended.named_parameters()}
    try:
        for start in range(0, len(y), chunk):
            xb, yb = x64[start : start + chunk], y[start : start + chunk]
            extended.zero_grad()
            loss = criterion(extended(xb), yb)
            with warnings.catch_warnings(), backpack.backpack(backpack_gelu.diag_hessian(extensions)):
                # the inputs need no gradient, which torch reports for BackPACK's module hooks
                warnings.filterwarnings("ignore", "Full backward hook is firing", UserWarning)
                loss.backward()
            for n, p in extended.named_parameters():
                diag[n] += p.diag_h.detach() * (len(yb) / len(y))
    except NotImplementedError as err:  # BackPACK lacks a layer
        return None, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"[:120]
    return diag, "exact: BackPACK DiagHessian (second-order backpropagation), float64"


def _dim(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def reference_diagonal(model: nn.Module, x: Tensor, y: Tensor, *, chunk: int = 100) -> tuple[dict[str, Tensor], str]:
    """The exact Hessian diagonal of the mean cross-entropy per parameter (float64), and how it was
    computed: BackPACK's, else unit-vector products up to ``EXACT_DIM`` parameters (else RuntimeError)."""
    diag, reason = backpack_diagonal(model, x, y, chunk=chunk)
    if diag is not None:
        return diag, reason
    _, _, curvlinops = libraries()
    m64 = copy.deepcopy(model).double().eval()
    x64 = x.double()
    named = [(n, p) for n, p in m64.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    dim = _dim(m64)
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


def reference_traces(model: nn.Module, x: Tensor, y: Tensor, scale: dict[str, Tensor] | None = None, *,
                     method: str = "auto", rel_se: float = 1e-3, max_probes: int = 200,
                     generator: torch.Generator | None = None, chunk: int = 100) -> Reference:  # fmt: skip
    """tr(H) and tr(HΣ₁) (``scale`` = Σ₁^½ by name) of the mean cross-entropy over (x, y), float64.

    ``method="auto"``: exact (BackPACK's diagonal, else unit vectors up to ``EXACT_DIM``
    parameters), else the split; ``"split"``: always the split, exact G plus a Hutchinson run on
    H − G that stops at ``rel_se`` of each trace or ``max_probes`` (``generator`` draws its probes).
    """
    if method not in METHODS:
        raise ValueError(f"unknown reference method {method!r}; expected one of {', '.join(METHODS)}")
    if method == "auto":
        exact = reference_diagonal if _dim(model) <= EXACT_DIM else backpack_diagonal
        diag, how = exact(model, x, y, chunk=chunk)
        if diag is not None:
            noise = None if scale is None else ReferenceTrace(weighted_trace(diag, scale))
            return Reference(ReferenceTrace(weighted_trace(diag)), noise, how)
    _, _, curvlinops = libraries()
    g_diag = split.gauss_newton_diagonal(model, x, y, chunk=chunk)
    offsets = (weighted_trace(g_diag), weighted_trace(g_diag, scale) if scale is not None else 0.0)
    plain, scaled = split.residual_traces(
        curvlinops, model, x, y, scale, offsets=offsets, rel_se=rel_se, max_probes=max_probes,
        generator=torch.Generator().manual_seed(0) if generator is None else generator,
    )  # fmt: skip

    def total(offset: float, samples: list[float]) -> ReferenceTrace:
        return ReferenceTrace(offset + statistics.fmean(samples), split.standard_error(samples), len(samples))

    how = (f"split: tr(GΣ₁) exact (torch.func per-sample Jacobians) + tr((H − G)Σ₁) by {len(plain)} Hutchinson "
           f"probes (curvlinops), float64")  # fmt: skip
    return Reference(total(offsets[0], plain), None if scale is None else total(offsets[1], scaled), how)
