"""Hessian–vector products of the mean cross-entropy over a data split, batched over the split.

The objective is a function of the logits z_n = f(x_n; θ) of the N samples of the split:

- ``"hessian"``:  L(θ) = (1/N) Σ_n CE(z_n, y_n); its Hessian is H.
- ``"residual"``: φ(θ) = (1/N) Σ_n r_nᵀ z_n with r_n = softmax(z_n) − onehot(y_n) held fixed at the
  current θ. Its Hessian is (1/N) Σ_n Σ_c r_nc ∇²z_nc = H − G, the part of H the Gauss–Newton
  matrix G misses, so (H − G)v costs one product and nothing cancels numerically.

Products use double backward: per chunk of the split (per piece of ``CPU_PIECE`` samples on the
CPU), one forward pass and one gradient with ``create_graph=True``, then one backward of ⟨g, v⟩ per
column v, reusing that graph for every column of the block (and across calls when the split is one
chunk, as PyHessian does). Smooth activations enter that graph with σ' and σ'' computed once
(``frozen_activations.py``): measured on the MNIST-1D GELU CNN at lr 0.2 (2,000 samples in one
graph, before the pieces, 1 thread, the two alternated in one process), 145 ms against 192 ms per
residual product, the same products to 7e-8 relative.

Why not curvlinops' ``HessianLinearOperator`` (the tests use it as an independent reference):
measured on the MNIST-1D CNN (8,010 parameters, 2,000 samples, 2 CPU cores, float32, one graph per
chunk), per column: PyHessian's product (graph kept) ~30 ms, this one ~30 ms (one chunk) or ~38 ms
(four chunks), curvlinops ~45 ms for one vector but ~65 / 95 / 145 ms per column for a block of 16 / 30 / 50
columns. Its ``H @ V`` vmaps ``jvp(jacrev(loss))`` over the columns: every activation tangent is
materialised for all columns at once and the convolutions run at k times the batch (profiled at
k = 30: convolution backward ~55%, copy/add/fill memory traffic ~35%), so the cost per column
grows with the block instead of shrinking; its ``hutchpp_trace``/``xtrace`` multiply blocks of N/3 or N/2 probes at once,
which made Hutch++ through curvlinops ~95 ms per product, 3× PyHessian (90 products: 9.8 s here). It also
redoes forward and backward pass for every product (forward-over-reverse, no graph reuse), its
``check_deterministic`` (on by default) costs two gradient passes and two products at
construction (~1.4 s here), and it cannot express the residual operator H − G with r fixed.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator
from torch import Tensor, nn

from empirical.curvature.frozen_activations import frozen_derivatives
from empirical.curvature.space import ParameterSpace

KINDS = ("hessian", "residual")
# On the CPU a chunk's graph is built from pieces of at most this many samples: the products then run on
# cache-sized activations, and the pieces' graphs together hold what the chunk's one graph would. Measured
# on the default preset's CNN (2,000 samples, 1 thread, median of 6 interleaved repeats): 94 ms per product
# in pieces of 500, against 154 ms at 2,000, 121 ms at 1,000 and 120 ms at 250.
CPU_PIECE = 500


class SplitHessian:
    """Symmetric operator v ↦ Σ₁^½ ∇²(objective) Σ₁^½ v on ``space``, over the split (x, y).

    ``matmat`` takes (dim, k) and returns (dim, k) in the space's dtype and device; ``matvecs``
    counts the columns multiplied so far. The model must already be in eval mode.
    """

    def __init__(
        self, model: nn.Module, x: Tensor, y: Tensor, space: ParameterSpace, *, kind: str, batch_size: int
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}.")
        self.model, self.x, self.y, self.space = model, x, y, space
        self.kind, self.batch_size = kind, batch_size
        self.shape = (space.dim, space.dim)
        self.matvecs = 0
        self._single_chunk = len(y) <= batch_size
        self._cached: list[list[Tensor | None]] | None = None

    def _chunks(self):
        dev = self.space.device
        for start in range(0, len(self.y), self.batch_size):
            stop = start + self.batch_size
            yield self.x[start:stop].to(dev), self.y[start:stop].to(dev)

    def _pieces(self, xb: Tensor, yb: Tensor) -> list[list[Tensor | None]]:
        """:meth:`_gradient` of each piece of the chunk (the whole chunk off the CPU)."""
        size = CPU_PIECE if self.space.device.type == "cpu" else len(yb)
        return [self._gradient(xs, ys) for xs, ys in zip(xb.split(size), yb.split(size), strict=True)]

    def _gradient(self, xb: Tensor, yb: Tensor) -> list[Tensor | None]:
        """Gradient of this piece's share of the objective, with its graph (create_graph=True)."""
        with frozen_derivatives(self.model):  # σ', σ'' of smooth activations computed once per graph
            z = self.model(xb)
        if self.kind == "hessian":
            obj = nn.functional.cross_entropy(z, yb, reduction="sum") / len(self.y)
        else:
            with torch.no_grad():
                r = torch.softmax(z, dim=1)
                r[torch.arange(len(yb), device=yb.device), yb] -= 1
            obj = (r * z).sum() / len(self.y)
        grads = torch.autograd.grad(obj, self.space.params, create_graph=True, allow_unused=True)
        # a gradient that does not depend on θ (or a parameter the loss ignores) contributes 0
        return [g if g is not None and g.requires_grad else None for g in grads]

    def _products(self, pieces: list[list[Tensor | None]], V: Tensor, out: Tensor) -> None:
        for grads in pieces:
            self._piece_products(grads, V, out)

    def _piece_products(self, grads: list[Tensor | None], V: Tensor, out: Tensor) -> None:
        live = [i for i, g in enumerate(grads) if g is not None]
        if not live:
            return
        for j in range(V.shape[1]):
            vs = self.space.to_params(V[:, j])
            hv = torch.autograd.grad(
                [grads[i] for i in live],
                self.space.params,
                grad_outputs=[vs[i] for i in live],
                retain_graph=True,
                allow_unused=True,
                materialize_grads=True,
            )
            out[:, j] += self.space.from_params(list(hv))

    def matmat(self, V: Tensor) -> Tensor:
        if V.ndim != 2 or V.shape[0] != self.space.dim:
            raise ValueError(f"V must have shape ({self.space.dim}, k). Got {tuple(V.shape)}.")
        V = V.to(device=self.space.device, dtype=self.space.dtype)
        out = torch.zeros_like(V)
        if self._single_chunk:
            if self._cached is None:
                self._cached = self._pieces(self.x.to(self.space.device), self.y.to(self.space.device))
            self._products(self._cached, V, out)
        else:
            for xb, yb in self._chunks():
                self._products(self._pieces(xb, yb), V, out)
        self.matvecs += V.shape[1]
        return out.detach()

    def release(self) -> None:
        """Drop the cached graph (it holds activations of the whole split)."""
        self._cached = None

    def to_scipy(self) -> LinearOperator:
        """The operator for scipy (float64 numpy vectors in and out), e.g. for ``eigsh``."""

        def mv(v: np.ndarray) -> np.ndarray:
            V = torch.as_tensor(np.asarray(v).reshape(self.space.dim, -1))
            return self.matmat(V).cpu().double().numpy().reshape(np.shape(v))

        return LinearOperator(self.shape, matvec=mv, matmat=mv, rmatvec=mv, dtype=np.float64)
