"""Dense curvature for small models: the ground truth the tests compare the estimators with.

These do not use the product code in ``hvp.py``: ``exact_hessian`` differentiates the loss of a
flat parameter vector twice with ``torch.func.hessian``; ``exact_gauss_newton`` builds
G = (1/N) Σ_n J_nᵀ (diag p_n − p_n p_nᵀ) J_n from the full logit Jacobian. Memory is P² (and
N·C·P), so keep P to a few thousand. ``operator_diagonal`` is the exact diagonal of any operator
by unit vectors (P products), which the estimators use when that is cheaper than sampling.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call, hessian, jacrev

from empirical.curvature import checks, forward_mode


def _flat_function(model: nn.Module, params: list[str] | None):
    named = dict(model.named_parameters())
    names = checks.param_names(model, params)
    shapes = [named[n].shape for n in names]
    sizes = [named[n].numel() for n in names]
    theta = torch.cat([named[n].detach().reshape(-1) for n in names])

    def unflatten(flat: Tensor) -> dict[str, Tensor]:
        return {n: t.view(s) for n, t, s in zip(names, flat.split(sizes), shapes)}

    return theta, unflatten


def exact_hessian(model: nn.Module, x: Tensor, y: Tensor, params: list[str] | None = None) -> Tensor:
    """Dense Hessian (P, P) of the mean cross-entropy over (x, y), parameters in ``params`` order
    (default: every trainable parameter, in ``named_parameters()`` order). Uses the model as it is
    (call ``model.eval()`` first)."""
    checks.model_(model)
    x, y = checks.data(x, y)
    theta, unflatten = _flat_function(model, params)
    device = theta.device

    def loss(flat: Tensor) -> Tensor:
        z = functional_call(model, unflatten(flat), (x.to(device),))
        return nn.functional.cross_entropy(z, y.to(device))

    forward_mode.prepare()
    return hessian(loss)(theta).detach()


def exact_gauss_newton(model: nn.Module, x: Tensor, y: Tensor, params: list[str] | None = None) -> Tensor:
    """Dense Gauss–Newton matrix (P, P) of the mean cross-entropy, same layout as ``exact_hessian``."""
    checks.model_(model)
    x, y = checks.data(x, y)
    theta, unflatten = _flat_function(model, params)
    xd = x.to(theta.device)

    def logits(flat: Tensor) -> Tensor:
        return functional_call(model, unflatten(flat), (xd,))

    with torch.no_grad():
        p = torch.softmax(logits(theta), dim=1)  # (N, C)
    jac = jacrev(logits)(theta).detach()  # (N, C, P)
    lam = torch.diag_embed(p) - p.unsqueeze(2) * p.unsqueeze(1)  # (N, C, C)
    return torch.einsum("ncp,ncd,ndq->pq", jac, lam, jac) / len(y)


def operator_diagonal(matmat, dim: int, *, device: torch.device, dtype: torch.dtype, block: int = 64) -> Tensor:
    """diag(A) (dim,) from ``matmat`` applied to the unit vectors, ``block`` columns at a time."""
    diag = torch.empty(dim, dtype=torch.float64, device=device)
    for start in range(0, dim, block):
        stop = min(dim, start + block)
        E = torch.zeros(dim, stop - start, device=device, dtype=dtype)
        rows, cols = torch.arange(start, stop, device=device), torch.arange(stop - start, device=device)
        E[rows, cols] = 1
        diag[start:stop] = matmat(E)[rows, cols].double()
    return diag
