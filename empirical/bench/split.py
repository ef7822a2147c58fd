"""A reference for models BackPACK cannot do: tr(HΣ₁) = tr(GΣ₁) + tr((H − G)Σ₁), the first exact.

- :func:`gauss_newton_diagonal`: diag G of the mean cross-entropy, exact in float64, from per-sample
  logit Jacobians J_n (C, P) by ``torch.func`` (vmap of jacrev), ``chunk`` samples at a time:
  diag G = (1/N) Σ_n Σ_k p_nk (J_nk − Σ_c p_nc J_nc)², the rows of √A_n J_n for
  A_n = diag p_n − p_n p_nᵀ = BᵀB, B = diag √p_n − √p_n p_nᵀ.
- :func:`residual_traces`: tr(H − G) and tr((H − G)Σ₁) by Hutchinson with curvlinops'
  ``HessianLinearOperator`` minus ``GGNLinearOperator`` (float64): per Rademacher probe v the
  samples vᵀ(H − G)v and wᵀ(H − G)w, w = Σ₁^½ v (unscaled parameters get 0), until each standard
  error (sample std/√n) is at most ``rel_se`` of its whole trace (the exact G part plus the
  residual's running mean) or ``max_probes`` are spent.

Neither uses this package's curvature code. H − G is 0 for piecewise-linear networks (ReLU, eval-mode
batch norm), where the probes' spread is rounding alone; for smooth ones it can be large.
"""

from __future__ import annotations

import copy
import math
import statistics
import warnings
from types import ModuleType

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

MIN_PROBES = 10  # probes before a standard error is trusted to stop


def gauss_newton_diagonal(model: nn.Module, x: Tensor, y: Tensor, *, chunk: int = 100) -> dict[str, Tensor]:
    """diag G per trainable parameter (float64) of the mean cross-entropy over (x (N, ...), y (N,))."""
    m64 = copy.deepcopy(model).double().eval()
    params = {n: p.detach() for n, p in m64.named_parameters() if p.requires_grad}
    x64 = x.double()

    def logits(p: dict[str, Tensor], sample: Tensor) -> Tensor:  # one sample (...) -> (C,)
        return functional_call(m64, p, (sample.unsqueeze(0),)).squeeze(0)

    diag = {n: torch.zeros_like(p) for n, p in params.items()}
    for start in range(0, len(y), chunk):
        xb = x64[start : start + chunk]
        with torch.no_grad():
            prob = torch.softmax(functional_call(m64, params, (xb,)), dim=1)  # (B, C)
        jac = vmap(jacrev(logits), in_dims=(None, 0))(params, xb)  # name -> (B, C, *shape)
        for n, j in jac.items():
            j = j.flatten(2)
            centred = j - torch.einsum("bc,bcp->bp", prob, j).unsqueeze(1)
            diag[n] += torch.einsum("bc,bcp->p", prob, centred.square()).view_as(diag[n]) / len(y)
    return diag


def residual_traces(curvlinops: ModuleType, model: nn.Module, x: Tensor, y: Tensor, scale: dict[str, Tensor] | None,
                    *, offsets: tuple[float, float], rel_se: float, max_probes: int, generator: torch.Generator,
                    block: int = 8, chunk: int = 500) -> tuple[list[float], list[float]]:  # fmt: skip
    """The Hutchinson samples vᵀ(H − G)v and, with ``scale`` (Σ₁^½ by name), wᵀ(H − G)w ([] without).

    Probes come ``block`` at a time until, after at least ``MIN_PROBES``, each standard error is
    ≤ ``rel_se`` · |offset + sample mean| (``offsets``: tr G and tr GΣ₁), or ``max_probes`` are
    drawn. The loss is the mean over all of (x, y), in ``chunk``-sample batches.
    """
    if max_probes < 2:
        raise ValueError(f"max_probes must be >= 2 for a standard error. Got {max_probes}.")
    m64 = copy.deepcopy(model).double().eval()
    named = [(n, p) for n, p in m64.named_parameters() if p.requires_grad]
    params = [p for _, p in named]
    s = torch.cat([(scale[n].double() if scale and n in scale else torch.zeros_like(p)).reshape(-1) for n, p in named])
    x64 = x.double()
    batches = [(x64[i : i + chunk], y[i : i + chunk]) for i in range(0, len(y), chunk)]
    with warnings.catch_warnings():  # curvlinops' linear_operator scripts functions at first use
        warnings.filterwarnings("ignore", r"`torch\.jit\.script` is deprecated", DeprecationWarning)
        ops = [op(m64, nn.CrossEntropyLoss(), params, batches, check_deterministic=False)
               for op in (curvlinops.HessianLinearOperator, curvlinops.GGNLinearOperator)]  # fmt: skip
    plain: list[float] = []
    scaled: list[float] = []

    def done() -> bool:
        if len(plain) >= max_probes:
            return True
        pairs = zip(offsets, [plain, scaled] if scale else [plain])
        return len(plain) >= MIN_PROBES and all(
            standard_error(q) <= rel_se * abs(o + statistics.fmean(q)) for o, q in pairs
        )

    while not done():
        k = min(block, max_probes - len(plain))
        v = torch.randint(0, 2, (len(s), k), generator=generator, dtype=torch.float64).mul_(2).sub_(1)
        V = torch.cat([v, s.unsqueeze(1) * v], dim=1) if scale else v
        RV = ops[0] @ V - ops[1] @ V
        quad = (V * RV).sum(dim=0).tolist()
        plain += quad[:k]
        scaled += quad[k:]
    return plain, scaled


def standard_error(samples: list[float]) -> float:
    """Sample std / √n of the mean (inf below two samples)."""
    return statistics.stdev(samples) / math.sqrt(len(samples)) if len(samples) >= 2 else math.inf
