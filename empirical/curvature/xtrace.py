"""XTrace (Epperly, Tropp & Webber 2024), adaptive by doubling, with the authors' error estimate.

With test vectors Ω = [ω_1 … ω_m] (Rademacher), Y = AΩ and Q an orthonormal basis of Y, XTrace
averages m exchangeable estimates, the i-th being Hutch++ with basis Q_(i) built without ω_i and
ω_i as its one Hutchinson probe:

    t_i = tr(Q_(i)ᵀ A Q_(i)) + ω_iᵀ (I − Q_(i)Q_(i)ᵀ) A (I − Q_(i)Q_(i)ᵀ) ω_i,   estimate = mean t_i,

at 2m products (Y and AQ). Each t_i is unbiased; they are dependent, so there is no exact
standard error. We report the authors' estimate std(t_i)/√m (``code/xtrace.m`` in their
repository), with the t/z small-sample factor of ``sequential.py``. Not adaptive by itself: we
start from m = max(2, min_matvecs/2), and while the error estimate misses the target, grow m
(at most doubling) reusing Ω and Y, recomputing AQ: about 3m products at the end.

- Epperly, E. N., Tropp, J. A., & Webber, R. J. (2024). XTrace: Making the most of every sample in
  stochastic trace estimation. SIAM J. Matrix Anal. Appl. 45(1).

Why not curvlinops' ``xtrace``: global RNG, fixed budget, no error estimate (and whole-matrix
products through ``HessianLinearOperator``); the leave-one-out algebra below follows it.

Example:
    >>> import torch
    >>> A = torch.diag(torch.cat([torch.tensor([1e4, 5e3]), torch.ones(98)]))
    >>> r = xtrace(lambda V: A @ V, 100, offset=0.0, rel_se=0.01, abs_se=0.0, min_matvecs=10,
    ...            max_matvecs=80, generator=torch.Generator().manual_seed(0), device=A.device,
    ...            dtype=A.dtype)
    >>> abs(r.value - 15098.0) < 4 * r.se + 1e-6
    True
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from empirical.curvature import sequential
from empirical.curvature.exact import operator_diagonal
from empirical.curvature.hutchpp import ScalarResult
from empirical.curvature.probes import rademacher


def xtrace_estimates(Om: Tensor, Y: Tensor, Q: Tensor, R: Tensor, AQ: Tensor) -> Tensor:
    """The m exchangeable estimates t_i (float64), from Ω, Y = AΩ, Y = QR and AQ."""
    S = torch.linalg.inv(R.T)
    S = S / S.norm(dim=0, keepdim=True)  # s_i: Q_(i) Q_(i)ᵀ = Q (I − s_i s_iᵀ) Qᵀ
    QtAQ = Q.T @ AQ
    traces = QtAQ.trace() - (S * (QtAQ @ S)).sum(0)  # tr(Q_(i)ᵀ A Q_(i))

    def deflate(M: Tensor) -> Tensor:  # column i: (I − s_i s_iᵀ) M[:, i]
        return M - S * (S * M).sum(0, keepdim=True)

    A_P_W = Y - AQ @ deflate(Q.T @ Om)  # A (I − Q_(i)Q_(i)ᵀ) ω_i
    PT_A_P_W = A_P_W - Q @ deflate(Q.T @ A_P_W)
    return traces + (Om * PT_A_P_W).sum(0)


def xtrace(
    matmat: Callable[[Tensor], Tensor],
    dim: int,
    *,
    offset: float,
    rel_se: float,
    abs_se: float,
    min_matvecs: int,
    max_matvecs: int,
    generator: torch.Generator,
    device: torch.device,
    dtype: torch.dtype,
) -> ScalarResult:
    """offset + tr(A) with XTrace's error estimate; at most ``max_matvecs`` products (at least 4)."""
    if max_matvecs < 4:
        raise ValueError(f"XTrace needs max_matvecs >= 4. Got {max_matvecs}.")
    m = max(2, min(math.ceil(min_matvecs / 2), max_matvecs // 2))
    if 2 * m >= dim:  # the sketch would span the space: the exact diagonal is as cheap
        diag = operator_diagonal(matmat, dim, device=device, dtype=dtype)
        return ScalarResult(offset + float(diag.sum()), 0.0, exact=True)
    Om = rademacher(dim, m, generator, device=device, dtype=torch.float64)
    Y = matmat(Om.to(dtype)).double()
    used = m
    while True:
        Q, R = torch.linalg.qr(Y)
        AQ = matmat(Q.to(dtype)).double()
        used += m
        t = xtrace_estimates(Om, Y, Q, R, AQ)
        if not bool(torch.isfinite(t).all()):
            raise RuntimeError(
                f"XTrace: the sketch AΩ of {m} columns is rank deficient (operator of low rank); "
                "use method='hutchpp' or 'hutchinson'."
            )
        mean, se = sequential.mean_and_se(t.unsqueeze(1))
        value, se = offset + float(mean[0]), float(se[0])
        if se <= max(rel_se * abs(value), abs_se):
            break
        needed = m * (se / max(rel_se * abs(value), abs_se)) ** 2 if max(rel_se * abs(value), abs_se) > 0 else math.inf
        grow = int(min(max(math.ceil(1.1 * needed), m + 1), 2 * m))
        # a round at size m' costs (m' − m) new columns of Y plus m' for AQ
        grow = min(grow, (max_matvecs - used + m) // 2)
        if grow <= m:
            break
        if 2 * grow >= dim and used + dim <= max_matvecs:
            diag = operator_diagonal(matmat, dim, device=device, dtype=dtype)
            return ScalarResult(offset + float(diag.sum()), 0.0, exact=True)
        new = rademacher(dim, grow - m, generator, device=device, dtype=torch.float64)
        Om = torch.cat([Om, new], dim=1)
        Y = torch.cat([Y, matmat(new.to(dtype)).double()], dim=1)
        used += grow - m
        m = grow
    return ScalarResult(value, se)
