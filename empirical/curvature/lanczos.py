"""Top eigenvalues (implicitly restarted Lanczos) and spectral density (stochastic Lanczos quadrature).

``top_eigenvalues`` runs scipy's ``eigsh`` (ARPACK, which="LA") on the Hessian operator of
``hvp.py``, with its start vector drawn from the caller's generator, then checks every Ritz pair
(λ, v) with one more product: the residual ‖Hv − λv‖ (v unit norm). For a symmetric H some
eigenvalue lies within that residual of λ (and within ‖r‖²/gap when λ is separated by ``gap``
from the rest of the spectrum), so it is the honest error bar of each value.

``spectral_density`` is stochastic Lanczos quadrature (Lin, Saad & Yang 2016; Ghorbani, Krishnan &
Xiao 2019), the working replacement for PyHessian's ``density()``: from each Rademacher probe v,
``steps`` Lanczos steps with full reorthogonalisation give a tridiagonal T; its eigenvalues θ_j
(nodes) and squared first eigenvector components τ_j (weights, summing to 1) define a quadrature
for vᵀ f(H) v / vᵀv, so the density (1/P) Σ_i δ(λ − λ_i) is approximated by Σ_j τ_j δ(λ − θ_j),
averaged over probes and broadened by a Gaussian of chosen width for plotting.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal
from scipy.sparse.linalg import ArpackNoConvergence, eigsh
from torch import Tensor, nn

from empirical.curvature import checks
from empirical.curvature.hvp import SplitHessian
from empirical.curvature.probes import rademacher
from empirical.curvature.space import ParameterSpace
from empirical.curvature.trace import eval_mode


@dataclass(frozen=True)
class EigenEstimate:
    """Largest eigenvalues in decreasing order, each with its residual norm ‖Hv − λv‖ (unit v).

    ``vectors`` (when asked for): the unit eigenvectors v_j in the same order, split per parameter
    name, (k, *shape) float64 on the CPU; jointly orthonormal over all the names.
    """

    values: tuple[float, ...]
    residuals: tuple[float, ...]
    matvecs: int
    seconds: float
    vectors: dict[str, Tensor] | None = None


@dataclass(frozen=True)
class SpectralDensity:
    """Quadrature nodes and weights, one row per probe; ``evaluate`` gives the smoothed density."""

    nodes: Tensor  # (probes, steps) float64
    weights: Tensor  # (probes, steps) float64, rows sum to 1
    matvecs: int
    seconds: float

    def evaluate(self, grid: Tensor, width: float) -> Tensor:
        """Density on ``grid`` (float64), each node broadened to a Gaussian of std ``width``."""
        checks.positive_float("width", width)
        grid = torch.as_tensor(grid, dtype=torch.float64).reshape(-1, 1, 1)
        bumps = torch.exp(-0.5 * ((grid - self.nodes) / width) ** 2) / (width * math.sqrt(2 * math.pi))
        return (bumps * self.weights).sum(-1).mean(-1)


def _operator(model, x, y, params, scale, batch_size, generator) -> SplitHessian:
    checks.model_(model)
    x, y = checks.data(x, y)
    checks.positive_int("batch_size", batch_size)
    checks.generator(generator)
    names = checks.param_names(model, params)
    space = ParameterSpace.build(model, names, checks.scale(model, names, scale))
    return SplitHessian(model, x, y, space, kind="hessian", batch_size=batch_size)


def top_eigenvalues(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    k: int = 1,
    tol: float = 1e-3,
    params: list[str] | None = None,
    scale: dict[str, Tensor] | None = None,
    batch_size: int = 1024,
    ncv: int | None = None,
    maxiter: int | None = None,
    vectors: bool = False,
    generator: torch.Generator,
) -> EigenEstimate:
    """The k largest (algebraic) eigenvalues of H (or of Σ₁^½HΣ₁^½ with ``scale``) by Lanczos.

    ``tol`` is ARPACK's relative accuracy for the Ritz values; ``ncv`` its Lanczos basis size
    (default min(dim, max(2k + 2, 10))); ``maxiter`` its restart limit (scipy's default if None);
    ``vectors``: also return the eigenvectors (of Σ₁^½HΣ₁^½ with ``scale``).
    """
    start = time.perf_counter()
    op = _operator(model, x, y, params, scale, batch_size, generator)
    k = checks.positive_int("k", k)
    checks.nonnegative_float("tol", tol)
    dim = op.space.dim
    if k >= dim:
        raise ValueError(f"k must be smaller than the dimension {dim}. Got k={k}.")
    ncv = min(dim, max(2 * k + 2, 10)) if ncv is None else ncv
    if not (isinstance(ncv, int) and k < ncv <= dim):
        raise ValueError(f"ncv must be an int with k < ncv <= {dim}. Got {ncv!r}.")
    if maxiter is not None:
        checks.positive_int("maxiter", maxiter)
    v0 = rademacher(dim, 1, generator, device=torch.device("cpu"), dtype=torch.float64)[:, 0].numpy()
    with eval_mode(model):
        try:
            values, ritz = eigsh(op.to_scipy(), k=k, which="LA", tol=tol, v0=v0, ncv=ncv, maxiter=maxiter)
        except ArpackNoConvergence as err:
            raise RuntimeError(
                f"Lanczos did not converge to {k} eigenvalues after {op.matvecs} products "
                f"(converged: {len(err.eigenvalues)}); raise maxiter or tol."
            ) from err
        order = np.argsort(values)[::-1]
        values, ritz = values[order], ritz[:, order]
        V = torch.as_tensor(np.ascontiguousarray(ritz))
        HV = op.matmat(V).cpu().double()
        op.release()
    residuals = (HV - V * torch.as_tensor(values.copy())).norm(dim=0)
    split = None
    if vectors:
        blocks = op.space.blocks()
        split = {name: V[blocks[name]].T.reshape(k, *p.shape) for name, p in zip(op.space.names, op.space.params)}
    return EigenEstimate(
        tuple(float(v) for v in values),
        tuple(float(r) for r in residuals),
        op.matvecs,
        time.perf_counter() - start,
        split,
    )


def lanczos_tridiagonal(matmat, v0: Tensor, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha, beta) of the Lanczos tridiagonal from v0, full reorthogonalisation, float64 basis.

    Stops early (fewer steps) if the Krylov space becomes invariant.
    """
    dtype = v0.dtype
    basis = [v0.double() / v0.double().norm()]
    alphas, betas = [], []
    for _ in range(steps):
        q = basis[-1]
        w = matmat(q.to(dtype).unsqueeze(1))[:, 0].double()
        alphas.append(float(q @ w))
        Qm = torch.stack(basis, dim=1)
        for _ in range(2):  # classical Gram–Schmidt twice: orthogonal to working precision
            w = w - Qm @ (Qm.T @ w)
        beta = float(w.norm())
        if len(alphas) == steps or beta <= 1e-10 * max(abs(a) for a in alphas + [1e-300]):
            break
        betas.append(beta)
        basis.append(w / beta)
    return np.array(alphas), np.array(betas)


def spectral_density(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    steps: int = 64,
    probes: int = 1,
    params: list[str] | None = None,
    scale: dict[str, Tensor] | None = None,
    batch_size: int = 1024,
    generator: torch.Generator,
) -> SpectralDensity:
    """Stochastic Lanczos quadrature of H's eigenvalue density: ``probes`` runs of ``steps`` products."""
    start = time.perf_counter()
    op = _operator(model, x, y, params, scale, batch_size, generator)
    checks.positive_int("steps", steps)
    checks.positive_int("probes", probes)
    dim = op.space.dim
    steps = min(steps, dim)
    nodes = torch.full((probes, steps), float("nan"), dtype=torch.float64)
    weights = torch.zeros((probes, steps), dtype=torch.float64)
    with eval_mode(model):
        for i in range(probes):
            v0 = rademacher(dim, 1, generator, device=op.space.device, dtype=op.space.dtype)[:, 0]
            alpha, beta = lanczos_tridiagonal(op.matmat, v0, steps)
            theta, vecs = eigh_tridiagonal(alpha, beta)
            nodes[i, : len(theta)] = torch.as_tensor(theta)
            weights[i, : len(theta)] = torch.as_tensor(vecs[0] ** 2)
        op.release()
    nodes = torch.nan_to_num(nodes, nan=0.0)  # unused slots carry weight 0
    return SpectralDensity(nodes, weights, op.matvecs, time.perf_counter() - start)
