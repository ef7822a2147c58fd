"""Public trace API: tr(H) or tr(HΣ₁) of the mean cross-entropy over a split, and per-layer traces.

Conventions (stated once, here): H is the Hessian of the mean cross-entropy (1/N) Σ_n CE(f(x_n), y_n)
over the split (x, y) given as tensors, of the model in eval mode, with respect to the parameters
named in ``params`` (``named_parameters()`` names; default every trainable one). ``scale`` maps a
parameter name to a tensor of its shape holding Σ₁^½, the noise std per unit noise level, so the
weight noise at level η is ε ~ N(0, η²Σ₁); parameters absent from ``scale`` get no noise. With a
scale, the trace is tr(HΣ₁) = tr(Σ₁^½ H Σ₁^½) = Σ_i Σ₁,ii H_ii over the scaled parameters.

Methods (``method=``):
- ``"gn"`` (default): tr(GΣ₁) plus tr((H − G)Σ₁). Modules whose residual block is certified zero
  contribute exactly 0 (``certify.py``; all of them in a ReLU network). The others' residual comes
  from the closed form Σ_u g_u σ''(a_u) τ²_u of ``smooth_residual.py`` where it applies (a network of
  Linear/ConvNd/BatchNorm modules and element-wise activations in ``nn.Sequential``s): exact where
  every activation's input is a chain of at most three Linear/Conv1d layers (``kinks_chain``: the
  MLP, the MNIST-1D CNN), else exact own-layer parts plus forward-mode probes, a pilot of
  ``min_matvecs`` probes, continued until the combined se meets the target unless the pilot
  projects more than ``CLOSED_FORM_MAX_PROBES``. Otherwise (or after such a pilot) Hutchinson on
  the residual operator (``hvp.py``, kind ``"residual"``) estimates it, or Hutch++ when Hutchinson
  would need many more products. Near a minimum H − G is small, so this needs far fewer products
  than estimating tr(H) directly. Measured on the MNIST-1D CNN (GELU, tanh; 2,000 test samples,
  layer-relative Σ₁) with probes: the closed form met 1% within 10–25 probes at lr 0.01–0.05,
  where Hutchinson needed 10–36 products; at lr 0.2 its probes varied far more than the deflated
  Hutchinson's products (noise in the first convolution reaching the third layer's units, with
  H − G ≈ −0.7 tr(GΣ₁)), and Hutchinson took over after the pilot; ``kinks_chain`` makes that
  network's residual exact. tr(GΣ₁) stays exact wherever the residual is not certified zero: with
  such cancellation a sampled G would need its se at a fraction of a percent of its own value.
  tr(GΣ₁) is computed (``gauss_newton=``):
  ``"exact"`` from per-sample logit Jacobians (``gauss_newton.py``, C backward passes per sample
  for C classes), ``"sampled"`` by one backward pass per sample and draw (``gn_sampling.py``), or
  ``"auto"`` (default): where every residual block is certified zero (the trace is then tr(GΣ₁)
  alone) and C ≥ ``SAMPLE_MIN_CLASSES``, a pilot of two sampled passes projects the passes needed
  for ``rel_se``; sampling continues if the passes still needed cost less than the exact Jacobians
  (``EXACT_PASSES_PER_CLASS``·C passes), otherwise G is computed exactly. Sampling always computes
  the ``HEAVY_FRACTION`` of samples with the most curvature exactly, where most of the variance is.
  The standard error combines the random terms (residual estimate, sampled G); with a residual
  certified zero (or exact in closed form: chains of layers, or no noise upstream of any own layer)
  and exact G the result is exact.
  ``hessian_traces`` gives several traces of one split (tr(H), tr(HΣ₁) of several noise models) in
  one call: the certificate (on the unscaled union of their parameters: a block zero unscaled is
  zero under any Σ₁) and G's per-sample Jacobians or gradients, with one class draw per sample and
  pass for all, are computed once. Measured on the default preset's ReLU CNN (2,000 test samples,
  1 thread, sweep runs in parallel): tr(H), tr(HΣ₁) layer-relative and additive in 1.38 s in one
  call, against 1.23–1.25 s for each in its own.
- ``"hutchinson"``, ``"hutchpp"``, ``"xtrace"``: the classical estimators on H itself.
- ``"exact"``: the diagonal of H by ``dim`` unit-vector products (small models).
Each stochastic method stops once its standard error is at most ``max(rel_se·|value|, abs_se)``
(after at least ``min_matvecs`` products) or after ``max_matvecs`` products, and switches to the
exact diagonal when that is projected to be cheaper and fits the budget (then ``exact`` is True).
Products, certification's and the closed form's probes included, stay within ``max_matvecs``; when
none are left for a residual that needs them, or when the softmax is saturated (every residual
weight is 0 in floating point, so neither G nor H − G is resolved), the standard error is infinite.

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
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from empirical.curvature import checks
from empirical.curvature.certify import certified_zero_modules
from empirical.curvature.exact import operator_diagonal
from empirical.curvature.gauss_newton import gauss_newton_diagonal
from empirical.curvature.gn_sampling import MIN_PASSES, heavy_samples, sampled_gauss_newton
from empirical.curvature.hutchinson import block_sums, hutchinson
from empirical.curvature.hutchpp import hutchpp
from empirical.curvature.sequential import MeanResult
from empirical.curvature.smooth_residual import PROBE_BATCH, obstacle, smooth_residual
from empirical.curvature.hvp import SplitHessian
from empirical.curvature.space import ParameterSpace
from empirical.curvature.xtrace import xtrace

METHODS = ("gn", "hutchinson", "hutchpp", "xtrace", "exact")
# gn's residual switches from Hutchinson to Hutch++ when this many more samples are projected
DEFLATE_AFTER = 64
LAYER_METHODS = ("gn", "hutchinson", "exact")
GAUSS_NEWTON = ("auto", "exact", "sampled")
SAMPLE_MIN_CLASSES = 4  # below this the pilot's two passes cost about as much as the exact Jacobians
# The exact per-class Jacobians cost this many sampled passes per class: measured 0.55–0.9 on the
# MNIST-1D CNN (C = 10, 2,000 samples, 1 thread; vmap batches the C backward passes), the low end kept.
EXACT_PASSES_PER_CLASS = 0.6
# Sampling computes this fraction of samples exactly (those with the most curvature by a proxy):
# measured on the MNIST-1D CNN at lr 0.2, it cuts the passes needed for 1% from ~8 to ~2.
HEAVY_FRACTION = 0.1
SAMPLED_MAX_PASSES = 200  # cap on the sampled passes of gauss_newton="sampled"
# gn's residual leaves the closed form (smooth_residual) for Hutchinson when its pilot projects more
# probes per batch than this: a probe cost about half a residual product (measured before
# ``frozen_activations`` made GELU products 1.35× cheaper; see smooth_residual's docstring).
CLOSED_FORM_MAX_PROBES = 128


@dataclass(frozen=True)
class TraceEstimate:
    """A trace with its standard error, the Hessian(-residual) products behind it, and wall time.

    ``se`` covers the sampling error (Student-t corrected, see ``sequential.py``) and a rounding
    scale √P·eps·|value| (1e-5 relative in float32 for P = 8,010 parameters); ``exact`` is True
    when there was no sampling error (exact diagonal, residual blocks certified zero, or samples
    that did not vary).
    For ``"gn"``, ``matvecs`` counts residual products (certification's included) plus the closed-form
    residual's probe directions per batch (each a forward-mode pass over the split, about half a
    residual product's time; a pilot that handed over to Hutchinson included); ``seconds``
    includes the Gauss–Newton part, computed as ``gauss_newton`` says (``"exact"`` or ``"sampled"``,
    ``"none"`` for the other methods) after ``gn_passes`` sampled passes over the split (each one
    backward pass per sample; with ``"exact"``, those of a pilot that found sampling dearer).
    """

    value: float
    se: float
    matvecs: int
    seconds: float
    method: str
    exact: bool = False
    gauss_newton: str = "none"
    gn_passes: int = 0


@dataclass(frozen=True)
class _Parts:
    """What ``_traces`` returns: per-group values and ses (float64), products, and the G part's method."""

    values: Tensor
    ses: Tensor
    matvecs: int
    gauss_newton: str = "none"
    gn_passes: int = 0


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


def _prepare(model, x, y, scales, params, method, methods, gauss_newton, rel_se, abs_se, min_matvecs, max_matvecs,
             batch_size, generator):  # fmt: skip
    checks.model_(model)
    x, y = checks.data(x, y)
    checks.choice("method", method, methods)
    checks.choice("gauss_newton", gauss_newton, GAUSS_NEWTON)
    checks.positive_float("rel_se", rel_se)
    checks.nonnegative_float("abs_se", abs_se)
    checks.positive_int("min_matvecs", min_matvecs)
    checks.positive_int("max_matvecs", max_matvecs)
    checks.positive_int("batch_size", batch_size)
    checks.generator(generator)
    names = checks.param_names(model, params)
    return x, y, [ParameterSpace.build(model, names, checks.scale(model, names, scale)) for scale in scales]


def _estimate(model, x, y, space, groups, *, kind, offsets, method, common, sketch, batch_size):
    """values, ses (per group, float64) and products for ``method`` on the operator ``kind``."""
    op = SplitHessian(model, x, y, space, kind=kind, batch_size=batch_size)
    blocks = [space.slice_of(g) for g in groups]
    try:
        if method == "exact":
            diag = operator_diagonal(op.matmat, space.dim, device=space.device, dtype=space.dtype)
            values = offsets + block_sums(diag.unsqueeze(1), blocks)[0].cpu()
            return values, torch.zeros_like(values), op.matvecs
        if method == "hutchinson":
            r = hutchinson(op.matmat, space.dim, blocks=blocks, offsets=offsets, **common)
            return r.values, r.ses, op.matvecs
        estimator = hutchpp if method == "hutchpp" else xtrace
        extra = {"sketch": sketch} if method == "hutchpp" else {}
        r = estimator(op.matmat, space.dim, offset=float(offsets[0]), **common, **extra)
        return torch.tensor([r.value], dtype=torch.float64), torch.tensor([r.se], dtype=torch.float64), op.matvecs
    finally:
        op.release()


def _traces(model, x, y, spaces, groups, *, method, gauss_newton, rel_se, abs_se, min_matvecs, max_matvecs,
            batch_size, sketch, generator) -> list[_Parts]:  # fmt: skip
    """Values, ses and products for each group of parameter names of each space (``groups[s]`` of
    ``spaces[s]``), drawn in turn from ``generator``; model already in eval mode.

    ``gn``: residual blocks certified zero once for every space (``certify.py`` on the unscaled union
    of their parameters, within the budget: a block zero unscaled is zero under any Σ₁), tr(GΣ₁) per
    group (:func:`_gauss_newton`, whose per-sample work serves every space), then per space the
    uncertified modules' residual (:func:`_residual`). Products: the certificate's count in each space's.
    """
    if method != "gn":
        parts = []
        for space, space_groups in zip(spaces, groups):
            offsets = torch.zeros(len(space_groups), dtype=torch.float64)
            values, ses, matvecs = _estimate(model, x, y, space, space_groups, kind="hessian", offsets=offsets,
                                             method=method, common=_common(space, rel_se, abs_se, min_matvecs,
                                                                           max_matvecs, generator),
                                             sketch=sketch, batch_size=batch_size)  # fmt: skip
            parts.append(_Parts(values, ses, matvecs))
        return parts
    union = ParameterSpace.union(spaces)
    modules = len(union.modules())
    # certify every module if the budget allows, else leave the minimum sample for the residual
    cert_budget = modules if modules <= max_matvecs else max_matvecs - min(min_matvecs, max_matvecs)
    cert = certified_zero_modules(model, x, y, union, batch_size=batch_size, generator=generator,
                                  max_products=cert_budget)  # fmt: skip
    lives = [[n for m, names in space.modules().items() if m not in cert.zero for n in names] for space in spaces]
    residual_zero = not any(n for live, space_groups in zip(lives, groups) for g in space_groups for n in g if n in live)
    offsets, gn_ses, how, passes = _gauss_newton(model, x, y, spaces, groups, choice=gauss_newton,
                                                 residual_zero=residual_zero, rel_se=rel_se, abs_se=abs_se,
                                                 batch_size=batch_size, generator=generator)  # fmt: skip
    parts = []
    for space, space_groups, live, offset, gn_se in zip(spaces, groups, lives, offsets, gn_ses):
        if cert.saturated:  # every residual weight underflowed: neither G nor H − G is resolved
            parts.append(_Parts(offset, torch.full_like(offset, math.inf), cert.products, how, passes))
            continue
        values, ses, used = _residual(model, x, y, space, space_groups, live, offset, gn_se, used=cert.products,
                                      rel_se=rel_se, abs_se=abs_se, min_matvecs=min_matvecs, max_matvecs=max_matvecs,
                                      batch_size=batch_size, generator=generator)  # fmt: skip
        parts.append(_Parts(values, torch.sqrt(ses.square() + gn_se.square()), used, how, passes))
    return parts


def _common(space: ParameterSpace, rel_se, abs_se, min_matvecs, max_matvecs, generator) -> dict:
    """The stopping rule and draws of an estimator on ``space``."""
    return dict(rel_se=rel_se, abs_se=abs_se, min_matvecs=min_matvecs, max_matvecs=max_matvecs,
                generator=generator, device=space.device, dtype=space.dtype)  # fmt: skip


def _residual(model, x, y, space, groups, live, offsets, gn_ses, *, used, rel_se, abs_se, min_matvecs, max_matvecs,
              batch_size, generator) -> tuple[Tensor, Tensor, int]:  # fmt: skip
    """(offsets + tr((H − G)Σ₁) per group, the residual's ses, products so far) for the ``live`` (uncertified)
    parameters of ``space``, ``used`` products already spent: in closed form (``smooth_residual``) where it
    applies and its pilot projects at most ``CLOSED_FORM_MAX_PROBES`` probes, else Hutchinson on the residual
    restricted to them, switching to Hutch++ for a single trace that would need more than ``DEFLATE_AFTER``
    further samples."""
    live_groups = [[n for n in g if n in set(live)] for g in groups]
    todo = [i for i, g in enumerate(live_groups) if g]
    values, ses = offsets.clone(), torch.zeros_like(offsets)
    if todo and obstacle(model, live) is None and max_matvecs - used >= 2 * len(todo):
        budget = (max_matvecs - used) // len(todo)
        r = smooth_residual(model, x, y, _scale_dict(space.subset(live)), [live_groups[i] for i in todo],
                            rel_se=rel_se, abs_se=abs_se, offsets=offsets[todo], offset_ses=gn_ses[todo],
                            min_probes=max(2, min(min_matvecs, budget)), max_probes=budget, generator=generator,
                            batch_size=min(batch_size, PROBE_BATCH), give_up_above=CLOSED_FORM_MAX_PROBES)  # fmt: skip
        used += r.probes
        if r.needed <= CLOSED_FORM_MAX_PROBES or used >= max_matvecs:  # else Hutchinson, the pilot spent
            values[todo], ses[todo] = offsets[todo] + r.values, r.ses
            todo = []
    if todo and used >= max_matvecs:  # no budget left to estimate the residual of the uncertified modules
        ses[todo] = math.inf
    elif todo:
        common = _common(space, rel_se, abs_se, min(min_matvecs, max_matvecs - used), max_matvecs - used, generator)
        values[todo], ses[todo], products = _hutchinson_residual(model, x, y, space.subset(live), live_groups, todo,
                                                                 offsets, common, batch_size)  # fmt: skip
        used += products
    return values, ses, used


def _hutchinson_residual(model, x, y, sub, live_groups, todo, offsets, common, batch_size):
    """(values, ses, products) of the groups ``todo``: offsets + Hutchinson (or Hutch++) on H − G over ``sub``."""
    op = SplitHessian(model, x, y, sub, kind="residual", batch_size=batch_size)
    try:
        switch = None
        if len(todo) == 1:  # one trace: deflate the residual (Hutch++) if Hutchinson has far to go
            switch = _deflation(op, sub.dim, float(offsets[todo[0]]), common, common["max_matvecs"])
        r = hutchinson(op.matmat, sub.dim, blocks=[sub.slice_of(live_groups[i]) for i in todo],
                       offsets=offsets[todo], switch=switch, switch_cost=DEFLATE_AFTER if switch else None,
                       **common)  # fmt: skip
    finally:
        op.release()
    return r.values, r.ses, op.matvecs


def _scale_dict(space: ParameterSpace) -> dict[str, Tensor]:
    """Σ₁^½ per parameter of ``space`` (ones where it has no scale)."""
    if space.scale is None:
        return {n: torch.ones_like(p) for n, p in zip(space.names, space.params)}
    blocks = space.blocks()
    return {n: space.scale[blocks[n]].view_as(p) for n, p in zip(space.names, space.params)}


def _gauss_newton(model, x, y, spaces, groups, *, choice, residual_zero, rel_se, abs_se, batch_size, generator):
    """(tr(G_gg Σ₁) per group, their ses: one tensor per space; "exact" or "sampled", sampled passes); see
    the module docstring. The per-sample Jacobians or gradients serve every space.

    Sampling computes the ``HEAVY_FRACTION`` of samples with the largest proxy exactly
    (``gn_sampling.heavy_samples``) and samples the others; if it gives up after the pilot, only
    those others remain to be computed exactly.
    """
    blocks = [[space.slice_of(g) for g in space_groups] for space, space_groups in zip(spaces, groups)]
    sizes = [len(b) for b in blocks]
    with torch.no_grad():
        classes = model(x[:1].to(spaces[0].device)).shape[1]
    if not (choice == "sampled" or (choice == "auto" and residual_zero and classes >= SAMPLE_MIN_CLASSES)):
        exact = _exact_gauss_newton(model, x, y, spaces, blocks, batch_size)
        return exact.split(sizes), torch.zeros_like(exact).split(sizes), "exact", 0
    heavy = heavy_samples(model, x, HEAVY_FRACTION, batch_size=batch_size)
    keep = torch.ones(len(y), dtype=torch.bool)
    keep[heavy] = False
    rest = keep.nonzero()[:, 0]
    share = len(rest) / len(y)
    offsets = None
    if len(heavy):
        offsets = (1 - share) * _exact_gauss_newton(model, *_take(x, y, heavy), spaces, blocks, batch_size)
    # continue while the passes still needed cost less than the exact Jacobians (the pilot is sunk)
    give_up = math.inf if choice == "sampled" else MIN_PASSES + EXACT_PASSES_PER_CLASS * classes
    r = sampled_gauss_newton(model, *_take(x, y, rest), spaces, blocks=blocks, rel_se=rel_se, abs_se=abs_se,
                             max_passes=SAMPLED_MAX_PASSES if choice == "sampled" else math.floor(give_up),
                             batch_size=batch_size, generator=generator, offsets=offsets, share=share,
                             give_up_above=give_up)  # fmt: skip
    if r.needed <= give_up:
        return r.values.split(sizes), r.ses.split(sizes), "sampled", r.passes
    values = share * _exact_gauss_newton(model, *_take(x, y, rest), spaces, blocks, batch_size)
    if offsets is not None:
        values = values + offsets
    return values.split(sizes), torch.zeros_like(values).split(sizes), "exact", r.passes  # the pilot's passes were spent


def _take(x: Tensor, y: Tensor, index: Tensor) -> tuple[Tensor, Tensor]:
    """The samples ``index`` (a CPU index tensor) of (x, y), each on its own device."""
    return x[index.to(x.device)], y[index.to(y.device)]


def _exact_gauss_newton(model, x, y, spaces, blocks, batch_size: int) -> Tensor:
    """tr(G_bb Σ₁,bb) per block of every space, in order (float64, CPU), from one set of exact per-sample
    Jacobians over (x, y)."""
    diag = gauss_newton_diagonal(model, x, y, list(ParameterSpace.union(spaces).names), batch_size=batch_size)
    sums = []
    for space, space_blocks in zip(spaces, blocks):
        flat = torch.cat([diag[n].reshape(-1) for n in space.names]).double()
        if space.scale is not None:
            flat = flat * space.scale.double().square()
        sums.append(block_sums(flat.unsqueeze(1), space_blocks)[0].cpu())
    return torch.cat(sums)


def _deflation(op: SplitHessian, dim: int, offset: float, common: dict, budget: int):
    """Switch for the residual Hutchinson run: Hutch++ with a sketch of √(samples needed).

    Deflation costs 2s products and pays when the residual has dominant directions (far from a
    minimum, with smooth activations: measured 5–10× less variance on a GELU CNN at lr 0.2); with
    s = √needed its overhead is at most 2/√needed, 25% at the switch point (``DEFLATE_AFTER``).
    """

    def switch(used: int, needed: float) -> MeanResult:
        left = budget - used
        s = int(min(max(8, round(math.sqrt(needed))), 64, dim - 1, (left - common["min_matvecs"]) // 2))
        if s < 1:
            s = 1
        options = {**common, "max_matvecs": left, "min_matvecs": min(common["min_matvecs"], left - 2 * s)}
        r = hutchpp(op.matmat, dim, offset=offset, sketch=s, **options)
        return MeanResult(torch.tensor([r.value], dtype=torch.float64), torch.tensor([r.se], dtype=torch.float64),
                          used, r.exact)  # fmt: skip

    return switch


def _with_rounding(values: Tensor, ses: Tensor, space: ParameterSpace) -> Tensor:
    """se combined with the rounding scale √P·eps·|value| of a sum over P coordinates."""
    fp = math.sqrt(space.dim) * torch.finfo(space.dtype).eps * values.abs()
    return torch.sqrt(ses.square() + fp.square())


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
    gauss_newton: str = "auto",
    generator: torch.Generator,
) -> TraceEstimate:
    """tr(H) over ``params`` (default all trainable), or tr(HΣ₁) over the scaled parameters if ``scale``.

    ``batch_size`` bounds the samples per forward pass (memory); ``sketch`` is Hutch++'s sketch
    size (default ``hutchpp.default_sketch``); ``gauss_newton`` how ``"gn"`` computes tr(GΣ₁)
    (``"auto"``, ``"exact"``, ``"sampled"``). Every random draw uses ``generator``; the same
    generator state gives the same result. See the module docstring for methods and stopping.
    """
    (estimate,) = hessian_traces(model, x, y, scales=[scale], params=params, method=method, rel_se=rel_se,
                                 abs_se=abs_se, min_matvecs=min_matvecs, max_matvecs=max_matvecs,
                                 batch_size=batch_size, sketch=sketch, gauss_newton=gauss_newton,
                                 generator=generator)  # fmt: skip
    return estimate


def hessian_traces(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    scales: Sequence[dict[str, Tensor] | None],
    params: list[str] | None = None,
    method: str = "gn",
    rel_se: float = 0.01,
    abs_se: float = 0.0,
    min_matvecs: int = 10,
    max_matvecs: int = 1000,
    batch_size: int = 1024,
    sketch: int | None = None,
    gauss_newton: str = "auto",
    generator: torch.Generator,
) -> list[TraceEstimate]:
    """:func:`hessian_trace` for each Σ₁^½ of ``scales`` (None: tr(H)) over one split, in one call that shares
    the work independent of Σ₁: with ``"gn"``, the certificate and G's per-sample Jacobians or gradients
    (drawn once for every scale; sampling goes on until every trace meets its target). The residuals of
    uncertified modules are estimated per scale, in turn from ``generator``. Each estimate's ``matvecs``
    counts the certificate's products; ``seconds`` is the whole call's.
    """
    start = time.perf_counter()
    if isinstance(scales, dict) or not isinstance(scales, Sequence) or not scales:
        raise ValueError(f"scales must be a non-empty sequence of Σ₁^½ dicts or None. Got {scales!r}.")
    x, y, spaces = _prepare(model, x, y, scales, params, method, METHODS, gauss_newton, rel_se, abs_se,
                            min_matvecs, max_matvecs, batch_size, generator)  # fmt: skip
    if sketch is not None:
        checks.positive_int("sketch", sketch)
    with eval_mode(model):
        parts = _traces(
            model, x, y, spaces, [[list(space.names)] for space in spaces], method=method,
            gauss_newton=gauss_newton, rel_se=rel_se, abs_se=abs_se, min_matvecs=min_matvecs,
            max_matvecs=max_matvecs, batch_size=batch_size, sketch=sketch, generator=generator,
        )  # fmt: skip
    seconds = time.perf_counter() - start
    estimates = []
    for r, space in zip(parts, spaces):
        ses = _with_rounding(r.values, r.ses, space)
        estimates.append(TraceEstimate(float(r.values[0]), float(ses[0]), r.matvecs, seconds, method,
                                       bool(r.ses[0] == 0), r.gauss_newton, r.gn_passes))  # fmt: skip
    return estimates


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
    gauss_newton: str = "auto",
    generator: torch.Generator,
) -> dict[str, TraceEstimate]:
    """tr(H_ll) (or tr(H_ll Σ₁,ll) with ``scale``) for each parameter tensor l: the diagonal blocks.

    One set of probes serves every block (E[v_lᵀ(Hv)_l] = tr(H_ll)); sampling continues until every
    block meets its target (``abs_se`` helps blocks whose trace is near 0) or the budget is spent,
    so ``matvecs`` and ``seconds`` are those of the whole call, shared by all entries. Methods:
    ``"gn"``, ``"hutchinson"``, ``"exact"``. Keys in ``named_parameters()`` order.
    """
    start = time.perf_counter()
    x, y, (space,) = _prepare(model, x, y, [scale], params, method, LAYER_METHODS, gauss_newton, rel_se, abs_se,
                              min_matvecs, max_matvecs, batch_size, generator)  # fmt: skip
    with eval_mode(model):
        (r,) = _traces(
            model, x, y, [space], [[[n] for n in space.names]], method=method, gauss_newton=gauss_newton,
            rel_se=rel_se, abs_se=abs_se, min_matvecs=min_matvecs, max_matvecs=max_matvecs,
            batch_size=batch_size, sketch=None, generator=generator,
        )  # fmt: skip
    exact = (r.ses == 0).tolist()
    ses = _with_rounding(r.values, r.ses, space)
    seconds = time.perf_counter() - start
    return {
        n: TraceEstimate(float(v), float(s), r.matvecs, seconds, method, e, r.gauss_newton, r.gn_passes)
        for n, v, s, e in zip(space.names, r.values, ses, exact)
    }
