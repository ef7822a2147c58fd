"""The kink term of E[ΔL]: what weight noise adds at the kinks of piecewise-linear activations.

A ReLU network's autograd Hessian is zero across activation kinks, yet noise ε ~ N(0, η²Σ₁) moves
pre-activations across them. ``theory.predict.delta_loss_with_kinks`` predicts

    E[ΔL](η) ≈ ½ η² tr(HΣ₁) + kink(η),   kink(η) = Σ_n Σ_k g_nk Σ_j Δ_j B(a_nk − c_j, η τ_nk),

B(a, s) = s φ(a/s) − |a| Φ(−|a|/s) (``theory.predict.kink_bracket``), over every unit k (entry of a
kinked activation's input, ``kinks_units``) of every sample n of the split: a_nk its clean
pre-activation, g_nk = ∂L/∂h_nk the gradient of the split's mean cross-entropy L with respect to
the unit's output, τ²_nk the variance of a_nk's first-order change under the noise at η = 1
(``kinks_probes``), (c_j, Δ_j) the activation's kinks. Conventions as ``empirical.curvature``: the
model in eval mode; ``scale`` is Σ₁^½ (``empirical.experiment.noise.scale``), parameters absent
from it get no noise. kink(η) is in nats, for this split (no population error).

Estimator: a and g exact (one forward and backward pass per batch). Where every site is a chain of
at most three Linear/Conv1d layers (``kinks_chain``: the MLP and the MNIST-1D CNN), τ² is exact and
so is the term (se 0, no probes, no plug-in bias). Otherwise τ² = the exact own-layer part + the
upstream part from P forward-mode probes (``kinks_probes``), plugged into B, each batch of
``batch_size`` samples with its own P probes. Standard error: the delta method over probes,
kink ≈ const + mean_p R_p with R_p = Σ_nk (∂kink/∂τ²_nk) w²_nk,p and ∂B/∂s = φ(a/s); the rows R_p
are i.i.d. across p, so se is their t-corrected sd/√P (``sequential.mean_and_se``). The plug-in is
biased (B is nonlinear in τ) by O(1/P): E[τ̂²] = τ² keeps the O(η²) part of a sum over many
pre-activations (½ Σ p(c) s²) unbiased, which leaves B's O(η⁴) curvature.

Measured with probes on the default preset's MNIST-1D CNN, before ``kinks_chain`` made its τ² exact
(trained 20 epochs at lr 0.02 and 0.2, seed 0; the 2,000 test samples; layer-relative noise on the
weights; η = 0.01, 0.02, 0.05, 0.1; 1 thread):
- bias against 1,024 probes (the same probes cut into disjoint sets of P): P = 16: −0.6 … +0.9 %
  of the term, P = 64: −0.2 … +0.2 %, P = 256: −0.03 … +0.04 %; |bias| ≤ 0.14/P of the term.
- probe sd of one estimate, batches of 25: P = 16: 2.1–5.5 %, P = 64: 0.8–2.3 %, P = 256:
  0.5–1.0 % (largest at η = 0.01). One probe set shared by all 2,000 samples: 7 % at P = 16 (its
  errors add coherently over samples), 2.1–4.5 % with own sets per 20–200 samples; probes for
  the whole τ² instead of the exact own layer: 1.0–1.6× the sd.
- P = 32 (the earlier default): se ≈ 3 % of the term at η = 0.01, 2 % at η = 0.1, four times the
  bias bound or more; over 10 repeats per checkpoint the sd was 0.8–1.3× (mean 1.1×) the reported se.
- default P = 24: se √(32/24) = 1.15× that, six times the bias bound (0.14/P ≈ 0.6 %) or more.
  On the lr 0.05 checkpoint (8 repeats of each, η = 0.1–0.5): sd 3.4–6.5 % of the term at
  P = 24, 4.5–8.7 % at P = 32 (its se 3.3–1.6 % at P = 256 limits the comparison); 2.34 against
  2.78 s per call.
- cost in the default sweep (two runs at a time on 2 cores), P = 32 before this file's per-level
  units and probe-free first layer: 3.5–3.9 s, 9.6–11.9 % of a run; about half the probes'
  forward-mode passes (≈ 4 forward passes of the batch per probe), half the brackets of the six
  noise levels. With τ² exact, each layer's part computed once for the noise models whose Σ₁ are
  multiples of each other there (``kinks_chain``): 2.5–4.0 s, 6.7–9.0 % of a run (8 levels of two
  noise models, and each layer alone in the per-layer runs); the brackets are about a third of it.
  Later, with the rest of the run faster and no slope table where τ² is exact: 1.5–2.9 s, 6.6–9.3 %.

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> x, y = torch.randn(16, 3), torch.randint(0, 2, (16,))
    >>> scale = {"0.weight": torch.full((8, 3), 0.1), "2.weight": torch.full((2, 8), 0.1)}
    >>> est = kink_term(model, x, y, scale, [0.01, 0.1], generator=torch.Generator().manual_seed(0))
    >>> est.probes, len(est.values), est.ses  # one hidden layer: τ² exact, no probes
    (0, 2, (0.0, 0.0))
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from empirical.curvature import checks
from empirical.curvature.kinks_chain import chain_variances
from empirical.curvature.kinks_probes import directions, probe_squares, unit_variances
from empirical.curvature.kinks_units import Site, clean_pass, kinked_modules
from empirical.curvature.sequential import mean_and_se
from empirical.curvature.trace import eval_mode
from theory import predict

DEFAULT_PROBES = 24
# Units with |a − c| ≥ TAIL · η τ are skipped: there B(a, s) < s φ(TAIL)/TAIL² ≈ 8e-17 s, below the
# rounding of a single near unit's share (15 % fewer units than TAIL = 12 on the default CNN).
TAIL = 8.0


@dataclass(frozen=True)
class KinkEstimate:
    """kink(η) in nats per noise level, with standard errors over the ``probes`` probes, and the wall time.

    ``probes`` is 0 when τ² is exact (``kinks_chain``; ses exactly 0) or the model has no kinked
    activation (values and ses exactly 0).
    """

    noise_levels: tuple[float, ...]
    values: tuple[float, ...]
    ses: tuple[float, ...]
    probes: int
    seconds: float


def kink_term(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    scale: dict[str, Tensor],
    noise_levels: Sequence[float],
    *,
    probes: int = DEFAULT_PROBES,
    generator: torch.Generator,
    batch_size: int = 100,
) -> KinkEstimate:
    """kink(η) for L the mean cross-entropy over the split (x, y), at each of ``noise_levels``.

    ``probes`` (>= 2) forward-mode probes per batch of ``batch_size`` samples, drawn from
    ``generator``, where τ² is sampled; memory grows as probes × batch_size × units per sample.
    """
    (estimate,) = kink_terms(model, x, y, [scale], [noise_levels], probes=probes, generator=generator,
                             batch_size=batch_size)  # fmt: skip
    return estimate


def kink_terms(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    scales: Sequence[dict[str, Tensor]],
    noise_levels: Sequence[Sequence[float]],
    *,
    probes: int = DEFAULT_PROBES,
    generator: torch.Generator,
    batch_size: int = 100,
) -> list[KinkEstimate]:
    """``kink_term`` for each Σ₁^½ of ``scales`` at its own ``noise_levels``, in one pass over the split:
    the clean passes and, where τ² is exact, the Jacobians serve every scale (probes are drawn per
    scale, in order). Each estimate's ``seconds`` is the whole call's.
    """
    start = time.perf_counter()
    checks.model_(model)
    x, y = checks.data(x, y)
    paired = isinstance(scales, Sequence) and isinstance(noise_levels, Sequence) and len(scales) == len(noise_levels)
    if not paired or isinstance(noise_levels, str):
        raise ValueError(f"need a list of scales and one list of noise levels per scale. Got {noise_levels!r}.")
    names = checks.param_names(model, None)
    checked = [checks.scale(model, names, scale) for scale in scales]
    if any(scale is None for scale in checked):
        raise ValueError("scale is required: Σ₁^½ per noisy parameter.")
    levels = [_levels(lv) for lv in noise_levels]
    if isinstance(probes, bool) or not isinstance(probes, int) or probes < 2:
        raise ValueError(f"probes must be an int >= 2 (a standard error needs two). Got {probes!r}.")
    checks.generator(generator)
    checks.positive_int("batch_size", batch_size)
    kinked = kinked_modules(model)
    if not kinked:
        return [KinkEstimate(lv, (0.0,) * len(lv), (0.0,) * len(lv), 0, time.perf_counter() - start) for lv in levels]
    values = [torch.zeros(len(lv), dtype=torch.float64) for lv in levels]
    rows = [torch.zeros(probes, len(lv), dtype=torch.float64) for lv in levels]
    device = next(model.parameters()).device
    sampled = False
    with eval_mode(model):
        for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
            xb, yb = xb.to(device), yb.to(device)
            sites = clean_pass(model, xb, yb, len(y), kinked)
            exact = chain_variances(sites, checked)  # type: ignore[arg-type]
            for k, scale in enumerate(checked):
                assert scale is not None
                if exact is None:  # τ² sampled by probes
                    squares = probe_squares(model, xb, kinked, sites, directions(scale, probes, generator))
                    taus, sampled = [unit_variances(site, sq, scale) for site, sq in zip(sites, squares)], True
                else:
                    squares, taus = [None] * len(sites), exact[k]
                for site, tau2, sq in zip(sites, taus, squares):
                    site_values, site_rows = site_terms(site, tau2, sq, levels[k])
                    values[k] += site_values
                    if site_rows is not None:
                        rows[k] += site_rows
    seconds = time.perf_counter() - start
    out = []
    for lv, v, r in zip(levels, values, rows):
        _, ses = mean_and_se(r)
        out.append(KinkEstimate(lv, tuple(v.tolist()), tuple(ses.tolist()), probes if sampled else 0, seconds))
    return out


def site_terms(
    site: Site, tau2: Tensor, squares: Tensor | None, levels: tuple[float, ...]
) -> tuple[Tensor, Tensor | None]:
    """One site's kink term per level (L,) and its delta-method rows (P, L), float64 on the CPU.

    tau2: τ̂² per unit (shape of site.pre); squares: the probes' w² (P, *site.pre.shape), or None where
    τ² is exact (no probes, no rows). Each level evaluates B only within TAIL·ητ of a kink: at small η
    a small share of the units.
    """
    a = site.pre.reshape(-1).double().cpu()
    g = site.grad.reshape(-1).double().cpu()
    tau = tau2.reshape(-1).double().cpu().sqrt()
    values = torch.zeros(len(levels), dtype=torch.float64)
    # ∂(term)/∂τ² per unit and level, for the probes' rows (none where τ² is exact)
    slopes = None if squares is None else torch.zeros(len(a), len(levels), dtype=torch.float64)
    for c, jump in site.kinks:
        reach = (a - c).abs() / tau  # in units of τ: inf (never near) where τ = 0
        for i, eta in enumerate(levels):
            near = torch.nonzero(reach < TAIL * eta).squeeze(1)  # η = 0: none, B and its slope are 0
            d, s, gn = a[near] - c, tau[near] * eta, g[near]
            values[i] += jump * float((gn * torch.from_numpy(predict.kink_bracket(d.numpy(), s.numpy()))).sum())
            if slopes is not None:
                density = torch.exp(-0.5 * (d / s) ** 2) / math.sqrt(2 * math.pi)  # ∂B/∂s = φ(a/s)
                slopes[near, i] += jump * gn * density * eta**2 / (2 * s)  # ∂s/∂τ² = η²/(2s)
    if squares is None or slopes is None:  # one case (exact τ²); both named for the type checker
        return values, None
    rows = squares.reshape(len(squares), -1) @ slopes.to(squares.device, squares.dtype)
    return values, rows.double().cpu()


def _levels(noise_levels: object) -> tuple[float, ...]:
    bad = not isinstance(noise_levels, Sequence) or isinstance(noise_levels, str) or not noise_levels
    if bad or not all(
        isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e) and e >= 0 for e in noise_levels
    ):
        raise ValueError(f"noise_levels must be a non-empty sequence of finite numbers >= 0. Got {noise_levels!r}.")
    return tuple(float(e) for e in noise_levels)
