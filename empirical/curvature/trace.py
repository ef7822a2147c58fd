"""Public trace API: tr(H) or tr(HΣ₁) of the mean cross-entropy over a split, and per-layer traces.

Conventions (stated once, here): H is the Hessian of the mean cross-entropy (1/N) Σ_n CE(f(x_n), y_n)
over the split (x, y) given as tensors, of the model in eval mode, with respect to the parameters
named in ``params`` (``named_parameters()`` names; default every trainable one). ``scale`` maps a
parameter name to a tensor of its shape holding Σ₁^½, the noise std per unit noise level, so the
weight noise at level η is ε ~ N(0, η²Σ₁); parameters absent from ``scale`` get no noise. With a
scale, the trace is tr(HΣ₁) = tr(Σ₁^½ H Σ₁^½) = Σ_i Σ₁,ii H_ii over the scaled parameters.

Methods (``method=``):
- ``"gn"`` (default): tr(GΣ₁) exactly from per-sample logit Jacobians (``gauss_newton.py``) plus a
  Hutchinson estimate of tr((H − G)Σ₁) (``hvp.py``, kind ``"residual"``); the standard error is
  that of the residual term, the only random one. Near a minimum H − G is small, so this needs far
  fewer products than estimating tr(H) directly.
- ``"hutchinson"``, ``"hutchpp"``, ``"xtrace"``: the classical estimators on H itself.
- ``"exact"``: the diagonal of H by ``dim`` unit-vector products (small models).
Each stochastic method stops once its standard error is at most ``max(rel_se·|value|, abs_se)``
(after at least ``min_matvecs`` products) or after ``max_matvecs`` products, and switches to the
exact diagonal when that is projected to be cheaper and fits the budget (then se = 0).

Example:
    >>> import torch
    >>> from empirical.curvature import hessian_trace, exact_hessian
    >>> torch.manual_seed(0) and None
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    >>> x, y = torch.randn(32, 3, dtype=torch.float64), torch.randint(0, 2, (32,))
    >>> est = hessian_trace(model, x, y, max_matvecs=20, generator=torch.Generator().manual_seed(0))
    >>> exact = exact_hessian(model, x, y).trace().item()
    >>> abs(est.value - exact) <= 4 * est.se + 1e-9
    True
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from empirical.curvature import checks
from empirical.curvature.exact import operator_diagonal
from empirical.curvature.gauss_newton import gauss_newton_diagonal
from empirical.curvature.hutchinson import block_sums, hutchinson
from empirical.curvature.hutchpp import hutchpp
from empirical.curvature.hvp import SplitHessian
from empirical.curvature.space import ParameterSpace
from empirical.curvature.xtrace import xtrace

METHODS = ("gn", "hutchinson", "hutchpp", "xtrace", "exact")
LAYER_METHODS = ("gn", "hutchinson", "exact")


@dataclass(frozen=True)
class TraceEstimate:
    """A trace with its standard error, the Hessian(-residual) products behind it, and wall time.

    ``se`` is 0 when the value is exact (``method == "exact"``). For ``"gn"``, ``matvecs`` counts
    residual products; ``seconds`` includes the Gauss–Newton diagonal.
    """

    value: float
    se: float
    matvecs: int
    seconds: float
    method: str


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Evaluate the model in eval mode with gradients enabled; restore its mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            yield
    finally:
        model.train(was_training)


def _prepare(model, x, y, scale, params, method, methods, rel_se, abs_se, min_matvecs, max_matvecs, batch_size, generator):
    checks.model_(model)
    x, y = checks.data(x, y)
    checks.choice("method", method, methods)
    checks.positive_float("rel_se", rel_se)
    checks.nonnegative_float("abs_se", abs_se)
    checks.positive_int("min_matvecs", min_matvecs)
    checks.positive_int("max_matvecs", max_matvecs)
    checks.positive_int("batch_size", batch_size)
    checks.generator(generator)
    names = checks.param_names(model, params)
    space = ParameterSpace.build(model, names, checks.scale(model, names, scale))
    return x, y, space


def _traces(model, x, y, space, blocks, *, method, rel_se, abs_se, min_matvecs, max_matvecs, batch_size, sketch, generator):
    """(values, ses, matvecs, exact) for the blocks, model already in eval mode."""
    kind = "residual" if method == "gn" else "hessian"
    op = SplitHessian(model, x, y, space, kind=kind, batch_size=batch_size)
    common = dict(rel_se=rel_se, abs_se=abs_se, min_matvecs=min_matvecs, max_matvecs=max_matvecs,
                  generator=generator, device=space.device, dtype=space.dtype)  # fmt: skip
    try:
        if method == "exact":
            diag = operator_diagonal(op.matmat, space.dim, device=space.device, dtype=space.dtype)
            values = block_sums(diag.unsqueeze(1), blocks)[0].cpu()
            return values, torch.zeros_like(values), op.matvecs, True
        if method in ("gn", "hutchinson"):
            offsets = torch.zeros(len(blocks), dtype=torch.float64)
            if method == "gn":
                diag = gauss_newton_diagonal(model, x, y, list(space.names), batch_size=batch_size)
                flat = torch.cat([diag[n].reshape(-1) for n in space.names]).double()
                if space.scale is not None:
                    flat = flat * space.scale.double().square()
                offsets = block_sums(flat.unsqueeze(1), blocks)[0].cpu()
            r = hutchinson(op.matmat, space.dim, blocks=blocks, offsets=offsets, **common)
            return r.values, r.ses, op.matvecs, r.exact
        estimator = hutchpp if method == "hutchpp" else xtrace
        extra = {"sketch": sketch} if method == "hutchpp" else {}
        r = estimator(op.matmat, space.dim, offset=0.0, **common, **extra)
        return torch.tensor([r.value]), torch.tensor([r.se]), op.matvecs, r.exact
    finally:
        op.release()


def hessian_trace(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    scale: dict[str, Tensor] | None = None,
    params: list[str] | None = None,
    method: str = "gn",
    rel_se: float = 0.01,
    abs_se: float = 0.0,
    min_matvecs: int = 10,
    max_matvecs: int = 1000,
    batch_size: int = 1024,
    sketch: int | None = None,
    generator: torch.Generator,
) -> TraceEstimate:
    """tr(H) over ``params`` (default all trainable), or tr(HΣ₁) over the scaled parameters if ``scale``.

    ``batch_size`` bounds the samples per forward pass (memory); ``sketch`` is Hutch++'s sketch
    size (default ``hutchpp.default_sketch``). Every random draw uses ``generator``; the same
    generator state gives the same result. See the module docstring for methods and stopping.
    """
    start = time.perf_counter()
    x, y, space = _prepare(model, x, y, scale, params, method, METHODS, rel_se, abs_se,
                           min_matvecs, max_matvecs, batch_size, generator)  # fmt: skip
    if sketch is not None:
        checks.positive_int("sketch", sketch)
    with eval_mode(model):
        values, ses, matvecs, exact = _traces(
            model, x, y, space, [slice(0, space.dim)], method=method, rel_se=rel_se, abs_se=abs_se,
            min_matvecs=min_matvecs, max_matvecs=max_matvecs, batch_size=batch_size, sketch=sketch,
            generator=generator,
        )  # fmt: skip
    return TraceEstimate(
        float(values[0]), float(ses[0]), matvecs, time.perf_counter() - start, "exact" if exact else method
    )


def layer_traces(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    scale: dict[str, Tensor] | None = None,
    params: list[str] | None = None,
    method: str = "gn",
    rel_se: float = 0.01,
    abs_se: float = 0.0,
    min_matvecs: int = 10,
    max_matvecs: int = 1000,
    batch_size: int = 1024,
    generator: torch.Generator,
) -> dict[str, TraceEstimate]:
    """tr(H_ll) (or tr(H_ll Σ₁,ll) with ``scale``) for each parameter tensor l: the diagonal blocks.

    One set of probes serves every block (E[v_lᵀ(Hv)_l] = tr(H_ll)); sampling continues until every
    block meets its target (``abs_se`` helps blocks whose trace is near 0) or the budget is spent,
    so ``matvecs`` and ``seconds`` are those of the whole call, shared by all entries. Methods:
    ``"gn"``, ``"hutchinson"``, ``"exact"``. Keys in ``named_parameters()`` order.
    """
    start = time.perf_counter()
    x, y, space = _prepare(model, x, y, scale, params, method, LAYER_METHODS, rel_se, abs_se,
                           min_matvecs, max_matvecs, batch_size, generator)  # fmt: skip
    blocks = space.blocks()
    with eval_mode(model):
        values, ses, matvecs, exact = _traces(
            model, x, y, space, list(blocks.values()), method=method, rel_se=rel_se, abs_se=abs_se,
            min_matvecs=min_matvecs, max_matvecs=max_matvecs, batch_size=batch_size, sketch=None,
            generator=generator,
        )  # fmt: skip
    seconds = time.perf_counter() - start
    name = "exact" if exact else method
    return {
        n: TraceEstimate(float(v), float(s), matvecs, seconds, name) for n, v, s in zip(blocks, values, ses)
    }
