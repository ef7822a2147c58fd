"""tr((H − G)Σ₁) in closed form per unit, for networks of linear-in-parameter modules and activations.

For a network built of modules that are linear in their own parameters given their input (Linear,
ConvNd, eval-mode BatchNorm), element-wise activations h = σ(a) and parameter-free linear maps, the
chain rule splits the Hessian of the mean cross-entropy L into

    H = G + Σ_u g_u σ''(a_u) ∇a_u ∇a_uᵀ + (terms ∂²a/∂w∂w' coupling two different modules),

over the units u (entries of every activation's input, every sample n of the split), g_u = ∂L/∂h_u.
A module's own second derivative vanishes, so the coupling terms are off the diagonal, and
piecewise-linear units (ReLU, max-pooling) have σ'' = 0 wherever autograd differentiates. Σ₁ is
diagonal, so only diag(H − G) matters, and exactly

    tr((H − G)Σ₁) = Σ_u g_u σ''(a_u) τ²_u,    τ²_u = Σ_i Σ₁,ii (∂a_u/∂w_i)²,

τ²_u the variance of a_u's first-order change under the noise at η = 1, the quantity the kink term
estimates (``kinks_probes``). σ'' comes from double autograd of the activation module on its input.
Per group of parameters (``layer_traces``), τ²_u splits into the groups' parts.

Estimator: g, a, σ'' exact (one forward and backward pass per batch); τ² = the exact own-layer part
(``kinks_units.OwnLayer``) + the mean of P forward-mode probes' w² (``kinks_probes``), each batch of
at most ``batch_size`` samples (and at least ``PROBE_SETS`` batches) with its own probes (their
errors then add incoherently over batches), one probe set per group. Probes are Rademacher
(E[vvᵀ] = Σ₁ as for Gaussians, without the variance of the diagonal). The value is linear in τ̂²,
hence unbiased; the rows R_p = Σ_u g_u σ''(a_u) w²_up (batches added per probe index) are i.i.d.
(R_p = vᵀMv for M = Σ_u g_u σ''(a_u) J_uᵀJ_u less the own layers' blocks: Hutchinson on M), so
the standard error is their t-corrected sd/√P
(``sequential.mean_and_se``). Sampling continues in rounds (``sequential.run``), projected from the
variance so far, until √(se² + offset_ses²) ≤ max(rel_se·|offsets + value|, abs_se) in every group
(the caller's other terms, e.g. tr(GΣ₁) and its se, are the offsets) or ``max_probes`` probes per
batch and group. Where every site is a chain of at most three Linear/Conv1d layers (``kinks_chain``:
the MLP and the MNIST-1D CNN), τ² can also be computed exactly, at the cost of about
``EXACT_PROBES`` probes: once more than that are projected after the pilot, sampling switches to it
and the value is exact (se 0).

Measured on the default preset's MNIST-1D CNN (20 epochs, seed 0, GELU and tanh at lr 0.01, 0.05,
0.2; the 2,000 test samples; layer-relative Σ₁ on the weights; 1 thread on 2 shared, loaded cores),
with probes (before ``kinks_chain``): a probe cost 0.07–0.12 s after 1–2 s of clean passes, a
residual product 0.17–0.24 s (before ``frozen_activations`` made GELU products 1.35× cheaper). At
lr 0.01 and 0.05, 10–25 probes met 1% of the total trace, where Hutchinson needed 10–36 products.
At lr 0.2, H − G ≈ −0.7 tr(GΣ₁) (GELU: 90.1 and ≈ −65; tanh: 133.5 and ≈ −100) and a row's sd is
about the total (≈ 25): 2,500–18,000 probes for 1%, against 184 (GELU) and 432 (tanh) products of
the deflated Hutchinson. Most of that variance was the first convolution's noise reaching the third
layer's units, which ``kinks_chain`` now computes exactly: the whole tr((H − G)) of the GELU CNN at
lr 0.2 (every parameter, 2,000 samples) takes 1.6–2.2 s (2.7–3.8 s before ``kinks_chain`` summed
the first layer's squares chunk by chunk). Own probes per sample instead of per batch did not help:
on 400 test samples at lr 0.2 (GELU, 24 probes), the rows' sd was 44 per sample against 36 per
batch of 100 for tr(H), 80 against 87 for tr(HΣ₁); the variance lies within each sample's units,
not in probes shared across samples.

Applicability (``obstacle``) is explicit and conservative: every leaf module has one of the types
listed below (exactly: a subclass could override ``forward``), every module with children is an
``nn.Sequential`` or this package's residual block (whose forward only adds and pads), no module is
in training mode, no parameter is shared, and every noisy parameter belongs to a Linear, ConvNd or
BatchNorm module. A custom ``forward`` could hide ``torch.tanh(x)``, which hooks cannot see.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from empirical.curvature import exact_gauss_newton, exact_hessian
    >>> torch.manual_seed(0) and None
    >>> model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 4), nn.GELU(), nn.Linear(4, 2)).double().eval()
    >>> x, y = torch.randn(40, 3, dtype=torch.float64), torch.randint(0, 2, (40,))
    >>> scale = {n: torch.full_like(p, 0.5) for n, p in model.named_parameters()}
    >>> r = smooth_residual(model, x, y, scale, [list(scale)], rel_se=0.01, min_probes=10, max_probes=400,
    ...                     generator=torch.Generator().manual_seed(0))
    >>> exact = 0.25 * float((exact_hessian(model, x, y) - exact_gauss_newton(model, x, y)).trace())
    >>> r.exact, r.probes  # 1% was far for probes after the pilot: exact τ² (a chain of layers)
    (True, 10)
    >>> abs(float(r.values[0]) - exact) <= 1e-10 * abs(exact)
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from empirical.curvature.frozen_activations import SMOOTH, slopes
from empirical.curvature.kinks_chain import chain_variances, chains
from empirical.curvature.kinks_probes import directions, probe_squares
from empirical.curvature.kinks_units import Site, clean_pass
from empirical.curvature import sequential
from empirical.experiment import models

PARAMETRIC = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# no second derivative under autograd: piecewise linear, or linear and parameter-free
FLAT = (
    nn.ReLU, nn.LeakyReLU, nn.Hardtanh, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d,
    nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.Flatten, nn.Identity,
    nn.Dropout, models._ZeroPadShortcut,
)  # fmt: skip
CONTAINERS = (nn.Sequential, models._BasicBlock)
PROBE_BATCH = 100  # samples per probe set, at most
# and at least this many probe sets over the split: rows R_p are then sums of many independent
# terms, closer to normal (z = error/se of 200 repeats at P = 28 on the 48 samples of a tiny tanh/GELU
# CNN, Gaussian probes: one set, 6.5% of |z| > 2 and z up to 6.0; 12 sets of 4 samples, 5.5%, |z| ≤ 3.1)
PROBE_SETS = 16
CHUNK_ELEMENTS = 2**24  # bound on directions × batch × units in one vmapped forward-mode pass
# The exact τ² (``kinks_chain``) costs about this many probes: on the default preset's GELU CNN at
# lr 0.2 (2,000 test samples, every parameter noisy, 1 thread) 2.7–3.8 s against 20–80 ms per probe
# (a probe per batch of 100); sampling switches to it once more probes than this are projected. Since
# measured, the exact τ² got faster (1.6–2.2 s); the count was not re-measured.
EXACT_PROBES = 40


@dataclass(frozen=True)
class ResidualEstimate:
    """tr((H − G)_gg Σ₁,gg) per group (G,) with standard errors (G,), float64 on the CPU.

    ``probes``: probe directions per batch, all groups together (0 without smooth activations);
    ``exact``: no sampling error (no smooth activation, τ² exact on chains of layers, or no noise
    upstream of any own layer);
    ``needed``: probes per batch and group projected to meet the target (≤ those drawn once met).
    """

    values: Tensor
    ses: Tensor
    probes: int
    exact: bool
    needed: float


def obstacle(model: nn.Module, names: list[str]) -> str | None:
    """Why the closed form does not apply to ``model`` with noise on ``names``; None when it does."""
    for name, module in model.named_modules():
        kind = type(module)
        if module.training:
            return f"module {name!r} ({kind.__name__}) is in training mode"
        if any(True for _ in module.children()):
            if kind not in CONTAINERS:
                return f"module {name!r} ({kind.__name__}) has children and its own forward"
            if any(True for _ in module.parameters(recurse=False)):
                return f"container {name!r} ({kind.__name__}) holds parameters"
        elif kind not in PARAMETRIC + SMOOTH + FLAT:
            return f"module {name!r} ({kind.__name__}) is not a known linear-in-parameters or element-wise module"
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is None:
            return f"batch norm {name!r} uses batch statistics in eval mode"
    if len(list(model.named_modules(remove_duplicate=False))) != len(list(model.named_modules())):
        return "a module is used twice"
    if len(list(model.named_parameters(remove_duplicate=False))) != len(list(model.named_parameters())):
        return "a parameter is shared"
    for name in names:
        owner = model.get_submodule(name.rpartition(".")[0])
        if type(owner) not in PARAMETRIC:
            return f"parameter {name!r} belongs to a {type(owner).__name__}, not a Linear, ConvNd or BatchNorm"
    return None


def smooth_modules(model: nn.Module) -> dict[nn.Module, tuple]:
    """The model's smooth activation modules, each with no kinks (``kinks_units.clean_pass``'s selection)."""
    return {m: () for m in model.modules() if type(m) in SMOOTH}


def second_derivative(module: nn.Module, a: Tensor) -> Tensor:
    """σ''(a) entry by entry (a's shape) of an element-wise activation module, by double autograd."""
    return slopes(module, a)[1]


@dataclass(frozen=True)
class _Split:
    """The split in batches of ``size`` samples, the smooth modules, and the noise (Σ₁^½, groups).

    Each round redoes the batches' clean passes (deterministic), so memory stays that of one batch.
    """

    model: nn.Module
    modules: dict[nn.Module, tuple]
    x: Tensor
    y: Tensor
    size: int
    scale: dict[str, Tensor]
    groups: list[list[str]]

    def chained(self) -> bool:
        """Whether every τ² is exact on chains of layers (``kinks_chain.chains``, on the first batch's sites)."""
        device = next(self.model.parameters()).device
        with torch.enable_grad():
            sites = clean_pass(self.model, self.x[: self.size].to(device), self.y[: self.size].to(device),
                               len(self.y), self.modules)  # fmt: skip
        return chains(sites) is not None

    def exact(self) -> Tensor:
        """Σ_u g σ'' τ²_u per group (G,) with every τ² exact (``kinks_chain``; only where ``chained``)."""
        device = next(self.model.parameters()).device
        values = torch.zeros(len(self.groups), dtype=torch.float64)
        for xb, yb in zip(self.x.split(self.size), self.y.split(self.size)):
            with torch.enable_grad():
                sites = clean_pass(self.model, xb.to(device), yb.to(device), len(self.y), self.modules)
            weights = [(s.grad * second_derivative(s.module, s.pre)).reshape(-1).double() for s in sites]
            taus = chain_variances(sites, [{n: self.scale[n] for n in group} for group in self.groups])
            assert taus is not None
            for g, group_taus in enumerate(taus):
                values[g] += sum(float(w @ t.reshape(-1).double()) for w, t in zip(weights, group_taus))
        return values

    def rows(self, probes: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(probes, G) rows R_pg = Σ_u g σ'' w²_pgu over every batch, each batch with its own probes,
        and the exact own-layer part Σ_u g σ'' own_gu (G,)."""
        device = next(self.model.parameters()).device
        rows = torch.zeros(len(self.groups) * probes, dtype=torch.float64)
        own = torch.zeros(len(self.groups), dtype=torch.float64)
        for xb, yb in zip(self.x.split(self.size), self.y.split(self.size)):
            xb = xb.to(device)
            with torch.enable_grad():
                sites = clean_pass(self.model, xb, yb.to(device), len(self.y), self.modules)
            weights = [(s.grad * second_derivative(s.module, s.pre)).reshape(-1) for s in sites]
            own += self._own(sites, weights)
            stacked = self._directions(probes, generator)
            chunk = max(1, CHUNK_ELEMENTS // max(1, sum(w.numel() for w in weights)))
            for start in range(0, len(rows), chunk):
                part = {n: d[start : start + chunk] for n, d in stacked.items()}
                for sq, w in zip(probe_squares(self.model, xb, self.modules, sites, part), weights):
                    if sq is not None:  # None: τ² exact at this site, nothing upstream
                        rows[start : start + chunk] += (sq.reshape(len(sq), -1) @ w).double().cpu()
        return rows.reshape(len(self.groups), probes).T, own

    def _directions(self, probes: int, generator: torch.Generator) -> dict[str, Tensor]:
        """(G·probes, *shape) per parameter: Rademacher probes, group g's in rows g·probes … (g+1)·probes."""
        out = {}
        for g, group in enumerate(self.groups):
            for n, d in directions({n: self.scale[n] for n in group}, probes, generator, rademacher=True).items():
                out[n] = torch.zeros((len(self.groups) * probes, *d.shape[1:]), dtype=d.dtype, device=d.device)
                out[n][g * probes : (g + 1) * probes] = d
        return out

    def _own(self, sites: list[Site], weights: list[Tensor]) -> Tensor:
        """Σ_u g σ'' own_gu per group (G,) over the sites with an own layer."""
        own = torch.zeros(len(self.groups), dtype=torch.float64)
        for site, w in zip(sites, weights):
            for g, group in enumerate(self.groups):
                part = {n: self.scale[n] for n in group if site.own is not None and n in site.own.names.values()}
                if part:
                    with torch.no_grad():
                        own[g] += float(w.double() @ site.own.variance(part).reshape(-1).double())
        return own


def smooth_residual(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    scale: dict[str, Tensor],
    groups: list[list[str]],
    *,
    rel_se: float,
    abs_se: float = 0.0,
    offsets: Tensor | None = None,
    offset_ses: Tensor | None = None,
    min_probes: int = 10,
    max_probes: int = 1000,
    generator: torch.Generator,
    batch_size: int = PROBE_BATCH,
    give_up_above: float = math.inf,
) -> ResidualEstimate:
    """tr((H − G)_gg Σ₁,gg) for each group g of parameter names, L the mean cross-entropy over (x, y).

    ``scale`` is Σ₁^½ per parameter (the noise is on the groups' parameters only); the model must be
    in eval mode and ``obstacle(model, names)`` None. Stops as the module docstring says; probes
    per batch and group stay within [``min_probes``, ``max_probes``] (min_probes ≥ 2). After the
    pilot (``min_probes``), it stops early if more than ``give_up_above`` probes are projected
    (``needed``): the caller may then prefer another estimator.
    """
    if min_probes < 2 or max_probes < min_probes:
        raise ValueError(f"need 2 <= min_probes <= max_probes. Got {min_probes} and {max_probes}.")
    scale = {n: scale[n] for g in groups for n in g}
    offsets = torch.zeros(len(groups), dtype=torch.float64) if offsets is None else offsets.double()
    offset_ses = torch.zeros(len(groups), dtype=torch.float64) if offset_ses is None else offset_ses.double()
    modules = smooth_modules(model)
    if not modules:
        zeros = torch.zeros(len(groups), dtype=torch.float64)
        return ResidualEstimate(zeros, zeros, 0, True, 0.0)
    split = _Split(model, modules, x, y, min(batch_size, math.ceil(len(y) / PROBE_SETS)), scale, groups)
    chained = split.chained()
    pilot, own = split.rows(min_probes, generator)  # the pilot also gives the exact own-layer part
    pending = [pilot]

    def draw(k: int) -> Tensor:  # the pilot first (sequential.run asks for min_probes), then new rounds
        return pending.pop() if pending else split.rows(k, generator)[0]

    def exact(n: int, needed: float) -> sequential.MeanResult:  # the probes so far are discarded
        return sequential.MeanResult(offsets + split.exact(), torch.zeros_like(offsets), n, True, float(n))

    r = sequential.run(draw, offsets=offsets + own, offset_ses=offset_ses, rel_se=rel_se, abs_se=abs_se,
                       min_samples=min_probes, max_samples=max_probes, max_round=max_probes,
                       switch=exact if chained else None, switch_cost=EXACT_PROBES if chained else None,
                       give_up_above=math.inf if chained else give_up_above)  # fmt: skip
    exact_value = r.exact or not r.ses.any()
    return ResidualEstimate(r.values - offsets, r.ses, r.samples * len(groups), exact_value, r.needed)
