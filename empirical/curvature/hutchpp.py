"""Hutch++ trace estimation (Meyer, Musco, Musco & Woodruff 2020), adaptive, with a standard error.

With a sketch S (dim × s, Rademacher) and Q an orthonormal basis of AS,

    tr(A) = tr(QᵀAQ) + tr((I − QQᵀ) A (I − QQᵀ)),

the first term exact (s more products), the second estimated by Hutchinson with probes
w = (I − QQᵀ)g: E[wᵀAw] = tr((I − QQᵀ)A(I − QQᵀ)). Given Q the estimate is unbiased and its
samples are i.i.d., so the standard error of the deflated Hutchinson mean is the honest error of
the whole estimate; sampling stops adaptively as in ``sequential.py``. Costs 2s + n products.
Deflation pays when a few eigenvalues dominate (the Hessian's top outliers).

- Meyer, R. A., Musco, C., Musco, C., & Woodruff, D. P. (2021). Hutch++: Optimal stochastic trace
  estimation. SOSA 2021.

Why not curvlinops' ``hutchpp_trace``: global RNG, a fixed budget split in thirds, no standard
error, and it multiplies whole probe matrices through ``HessianLinearOperator`` (slow on CPU, see
``hvp.py``). Reimplemented here, with the basis computed in float64.

Example:
    >>> import torch
    >>> A = torch.diag(torch.cat([torch.tensor([1e4, 5e3]), torch.ones(98)]))
    >>> r = hutchpp(lambda V: A @ V, 100, offset=0.0, rel_se=0.01, abs_se=0.0, min_matvecs=10,
    ...             max_matvecs=80, sketch=4, generator=torch.Generator().manual_seed(0),
    ...             device=A.device, dtype=A.dtype)
    >>> abs(r.value - 15098.0) < 4 * r.se + 1e-6, r.se < 0.01 * r.value
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from empirical.curvature import sequential
from empirical.curvature.exact import operator_diagonal
from empirical.curvature.probes import rademacher


@dataclass(frozen=True)
class ScalarResult:
    value: float
    se: float
    exact: bool = False


def default_sketch(max_matvecs: int, dim: int) -> int:
    """Sketch size: 16 directions (enough for the Hessian's ~C−1 outliers), within a third of the budget."""
    return max(1, min(16, max_matvecs // 3, dim - 1))


def hutchpp(
    matmat: Callable[[Tensor], Tensor],
    dim: int,
    *,
    offset: float,
    rel_se: float,
    abs_se: float,
    min_matvecs: int,
    max_matvecs: int,
    sketch: int | None,
    generator: torch.Generator,
    device: torch.device,
    dtype: torch.dtype,
) -> ScalarResult:
    """offset + tr(A) with a standard error; uses at most ``max_matvecs`` products (at least 2s + 2)."""
    s = default_sketch(max_matvecs, dim) if sketch is None else sketch
    if s < 1 or 2 * s + 2 > max_matvecs:
        raise ValueError(
            f"sketch {s} does not fit the budget: Hutch++ needs 2*sketch + 2 <= max_matvecs ({max_matvecs})."
        )
    if dim <= 2 * s + min(min_matvecs, max_matvecs - 2 * s):
        diag = operator_diagonal(matmat, dim, device=device, dtype=dtype)
        return ScalarResult(offset + float(diag.sum()), 0.0, exact=True)
    S = rademacher(dim, s, generator, device=device, dtype=dtype)
    Q, _ = torch.linalg.qr(matmat(S).double())
    AQ = matmat(Q.to(dtype)).double()
    in_sketch = float((Q * AQ).sum())

    def draw(k: int) -> Tensor:
        G = rademacher(dim, k, generator, device=device, dtype=torch.float64)
        W = G - Q @ (Q.T @ G)
        return (W * matmat(W.to(dtype)).double()).sum(0, keepdim=True).T  # (k, 1)

    def exact(used: int, needed: float) -> sequential.MeanResult:
        total = offset + float(operator_diagonal(matmat, dim, device=device, dtype=dtype).sum())
        return sequential.MeanResult(torch.tensor([total]), torch.zeros(1), used, exact=True)

    result = sequential.run(
        draw,
        offsets=torch.tensor([offset + in_sketch]),
        rel_se=rel_se,
        abs_se=abs_se,
        min_samples=min_matvecs,
        max_samples=max_matvecs - 2 * s,
        switch=exact,
        switch_cost=dim,
    )
    return ScalarResult(float(result.values[0]), float(result.ses[0]), result.exact)
