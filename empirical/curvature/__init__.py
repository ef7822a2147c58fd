"""Curvature of the mean cross-entropy over a data split: traces with standard errors, λ_max, spectra.

Public API (the sweep's contract):

- ``hessian_trace(model, x, y, *, scale=None, params=None, rel_se=0.01, max_matvecs=1000,
  batch_size=1024, gauss_newton="auto", generator, ...) -> TraceEstimate``: tr(H), or tr(HΣ₁) with
  ``scale``; ``.gauss_newton`` says whether tr(GΣ₁) was computed exactly or sampled.
- ``hessian_traces(model, x, y, *, scales, ...) -> list[TraceEstimate]``: one per Σ₁^½ of ``scales``
  (None: tr(H)) on one split, the certificate and G's per-sample work shared.
- ``layer_traces(...) -> dict[str, TraceEstimate]``: the diagonal blocks, one per parameter tensor.
- ``top_eigenvalues(model, x, y, *, k=1, tol=1e-3, generator, ...) -> EigenEstimate``.
- ``spectral_density(model, x, y, *, steps=64, probes=1, generator, ...) -> SpectralDensity``.
- ``exact_hessian(model, x, y, params=None) -> Tensor``: dense, small models only.
- ``split_fourth_moment(model, x, y, scale, *, draws, subset, generator, ...) -> FourthMoment``:
  E_v[D⁴L[v,v,v,v]] with v ~ N(0, Σ₁), by nested forward-mode derivatives (``fourth_moment`` for
  any loss function of the parameters).
- ``grad_cov_grad(model, x, y, scale) -> float`` (gᵀΣ₁g) and ``hsigma_sq_trace(...) ->
  FrobeniusEstimate`` (tr((HΣ₁)²)): the terms of Var[ΔL].
- ``mean_terms(model, x, y, mean) -> (gᵀμ, μᵀHμ)``: what a noise mean μ adds to E[ΔL] (exact).
- ``kink_term(model, x, y, scale, noise_levels, *, probes=24, generator, batch_size=100) ->
  KinkEstimate``: per noise level, what the noise adds to E[ΔL] at the kinks of piecewise-linear
  activations (ReLU), which H misses; exactly 0 without them. ``kink_terms(model, x, y, scales,
  noise_levels, ...) -> list[KinkEstimate]``: several Σ₁^½ (each with its levels) in one pass.
- ``SplitHessian``, ``ParameterSpace``, ``operator_diagonal``: the operator itself, for benchmarks
  and references that need products rather than traces.

One file, one job: ``space`` (the parameter vector space and Σ₁^½), ``hvp`` (products over the
split), ``gauss_newton`` (exact diag G), ``gn_sampling`` (tr(GΣ₁) by one backward pass per sample
and draw), ``certify`` (residual blocks that vanish), ``smooth_residual`` (tr((H − G)Σ₁) in closed
form per unit, for networks of linear-in-parameter modules and element-wise activations),
``frozen_activations`` (smooth activations' σ', σ'' computed once for the products of one graph),
``hutchinson``/``hutchpp``/``xtrace`` (estimators), ``sequential`` (standard errors and
stopping), ``trace`` (the API above), ``lanczos`` (eigenvalues, density), ``fourth_order``
(D⁴L along random directions), ``variance_terms`` (gᵀΣ₁g, tr((HΣ₁)²)), ``kinks`` (the kink term),
``kinks_units`` (the activation sites and one batch's pre-activations and gradients there),
``kinks_probes`` (the pre-activations' noise variance by probes), ``kinks_chain`` (exactly, on chains
of layers), ``exact`` (dense ground truth), ``probes``
(random vectors), ``checks`` (arguments). Code outside this package uses only
the names below.

Example (the sweep's calls; ``scales`` from ``empirical.experiment.noise.scale``):
    >>> import torch
    >>> from empirical import models
    >>> from empirical.curvature import hessian_trace, top_eigenvalues
    >>> model = models.build("cnn1d", (1, 40), 10, seed=0).eval()
    >>> x, y = torch.randn(64, 1, 40), torch.randint(0, 10, (64,))
    >>> tr = hessian_trace(model, x, y, generator=torch.Generator().manual_seed(0))
    >>> tr.matvecs, tr.gauss_newton  # ReLU network: tr(H) = tr(G), certified with one product per layer,
    (4, 'sampled')
    >>> tr.se <= 0.01 * tr.value  # and tr(G) sampled, cheaper than 10 backward passes per sample here
    True
    >>> top = top_eigenvalues(model, x, y, k=1, generator=torch.Generator().manual_seed(0))
    >>> top.residuals[0] < 1e-3 * top.values[0]
    True
"""

from empirical.curvature.exact import exact_gauss_newton, exact_hessian, operator_diagonal
from empirical.curvature.fourth_order import FourthMoment, fourth_moment, split_fourth_moment
from empirical.curvature.hvp import SplitHessian
from empirical.curvature.kinks import KinkEstimate, kink_term, kink_terms
from empirical.curvature.mean_terms import mean_terms
from empirical.curvature.lanczos import EigenEstimate, SpectralDensity, spectral_density, top_eigenvalues
from empirical.curvature.space import ParameterSpace
from empirical.curvature.trace import METHODS, TraceEstimate, hessian_trace, hessian_traces, layer_traces
from empirical.curvature.variance_terms import FrobeniusEstimate, grad_cov_grad, hsigma_sq_trace

__all__ = [
    "METHODS",
    "EigenEstimate",
    "FourthMoment",
    "FrobeniusEstimate",
    "KinkEstimate",
    "ParameterSpace",
    "SpectralDensity",
    "SplitHessian",
    "TraceEstimate",
    "exact_gauss_newton",
    "exact_hessian",
    "fourth_moment",
    "grad_cov_grad",
    "hessian_trace",
    "hessian_traces",
    "hsigma_sq_trace",
    "kink_term",
    "kink_terms",
    "mean_terms",
    "layer_traces",
    "operator_diagonal",
    "spectral_density",
    "split_fourth_moment",
    "top_eigenvalues",
]
