"""Girard–Hutchinson trace estimation with a standard error and adaptive stopping.

For a symmetric operator A and Rademacher probes v (i.i.d. ±1 entries), E[vᵀAv] = tr(A) and
Var[vᵀAv] = 2 Σ_{i≠j} A_ij². The same products give every diagonal block's trace at once:
E[v_bᵀ (Av)_b] = tr(A_bb) for the coordinates b of one parameter tensor. The estimate is
``offset + mean`` of i.i.d. samples, so its standard error is the sample one (see
``sequential.py``), and sampling stops at a target relative standard error or the matvec budget.

- Girard, D. A. (1989). A fast 'Monte-Carlo cross-validation' procedure for large least squares
  problems with noisy data. Numerische Mathematik 56.
- Hutchinson, M. F. (1989). A stochastic estimator of the trace of the influence matrix for
  Laplacian smoothing splines. Communications in Statistics – Simulation and Computation 18.

Why not curvlinops' ``hutchinson_trace``: it draws from the global RNG (no generator argument),
takes a fixed number of products, and returns no standard error; the estimator itself is three
lines, so it is reimplemented here with an explicit generator, per-block sums and stopping.

Example:
    >>> import torch
    >>> A = torch.diag(torch.arange(1.0, 101.0)); A[0, 1] = A[1, 0] = 3.0
    >>> r = hutchinson(lambda V: A @ V, 100, blocks=[slice(0, 100)], offsets=torch.zeros(1),
    ...                rel_se=0.01, abs_se=0.0, min_matvecs=10, max_matvecs=50,
    ...                generator=torch.Generator().manual_seed(0), device=A.device, dtype=A.dtype)
    >>> value, se = float(r.values[0]), float(r.ses[0])  # vᵀAv = 5050 + 12·v₀v₁
    >>> abs(value - 5050.0) < 4 * se, se < 0.01 * value
    (True, True)
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from empirical.curvature import sequential
from empirical.curvature.exact import operator_diagonal
from empirical.curvature.probes import rademacher


def block_sums(values: Tensor, blocks: list[slice]) -> Tensor:
    """(dim, k) -> (k, B): each column summed over each block's coordinates, in float64."""
    values = values.double()
    return torch.stack([values[b].sum(0) for b in blocks], dim=1)


def hutchinson(
    matmat: Callable[[Tensor], Tensor],
    dim: int,
    *,
    blocks: list[slice],
    offsets: Tensor,
    rel_se: float,
    abs_se: float,
    min_matvecs: int,
    max_matvecs: int,
    generator: torch.Generator,
    device: torch.device,
    dtype: torch.dtype,
    exact_if_cheaper: bool = True,
    switch: Callable[[int, float], sequential.MeanResult] | None = None,
    switch_cost: int | None = None,
) -> sequential.MeanResult:
    """offsets_b + tr(A_bb) for each block b, with standard errors (``MeanResult``).

    ``matmat`` maps (dim, k) to (dim, k). When sampling is projected to need more products than
    ``dim`` (the cost of the exact diagonal) and the budget allows, the exact diagonal is used,
    unless another ``switch`` is given (see ``sequential.run``).
    """

    def draw(k: int) -> Tensor:
        V = rademacher(dim, k, generator, device=device, dtype=dtype)
        return block_sums(V * matmat(V), blocks)

    def exact(used: int, needed: float) -> sequential.MeanResult:
        diag = operator_diagonal(matmat, dim, device=device, dtype=dtype)
        values = offsets.double() + block_sums(diag.unsqueeze(1), blocks)[0].cpu()
        return sequential.MeanResult(values, torch.zeros_like(values), used, exact=True)

    if switch is None and exact_if_cheaper:
        switch, switch_cost = exact, dim
    return sequential.run(
        draw,
        offsets=offsets,
        rel_se=rel_se,
        abs_se=abs_se,
        min_samples=min_matvecs,
        max_samples=max_matvecs,
        switch=switch,
        switch_cost=switch_cost,
    )
