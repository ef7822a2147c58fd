"""Curvature of the mean cross-entropy over a data split: traces with standard errors, λ_max, spectra.

Public API (the sweep's contract):

- ``hessian_trace(model, x, y, *, scale=None, params=None, rel_se=0.01, max_matvecs=1000,
  batch_size=1024, generator, ...) -> TraceEstimate``: tr(H), or tr(HΣ₁) with ``scale``.
- ``layer_traces(...) -> dict[str, TraceEstimate]``: the diagonal blocks, one per parameter tensor.
- ``top_eigenvalues(model, x, y, *, k=1, tol=1e-3, generator, ...) -> EigenEstimate``.
- ``spectral_density(model, x, y, *, steps=64, probes=1, generator, ...) -> SpectralDensity``.
- ``exact_hessian(model, x, y, params=None) -> Tensor``: dense, small models only.

One file, one job: ``space`` (the parameter vector space and Σ₁^½), ``hvp`` (products over the
split), ``gauss_newton`` (exact diag G), ``certify`` (residual blocks that vanish),
``hutchinson``/``hutchpp``/``xtrace`` (estimators), ``sequential`` (standard errors and
stopping), ``trace`` (the API above), ``lanczos`` (eigenvalues, density), ``exact`` (dense ground
truth), ``probes`` (random vectors), ``checks`` (arguments).

Example (the sweep's calls; ``scales`` from ``empirical.noise.scale``):
    >>> import torch
    >>> from empirical import models
    >>> from empirical.curvature import hessian_trace, top_eigenvalues
    >>> model = models.build("cnn1d", (1, 40), 10, seed=0).eval()
    >>> x, y = torch.randn(64, 1, 40), torch.randint(0, 10, (64,))
    >>> tr = hessian_trace(model, x, y, generator=torch.Generator().manual_seed(0))
    >>> tr.exact, tr.matvecs  # ReLU network: tr(H) = tr(G), certified with one product per layer
    (True, 4)
    >>> top = top_eigenvalues(model, x, y, k=1, generator=torch.Generator().manual_seed(0))
    >>> top.residuals[0] < 1e-3 * top.values[0]
    True
"""

from empirical.curvature.exact import exact_gauss_newton, exact_hessian
from empirical.curvature.lanczos import EigenEstimate, SpectralDensity, spectral_density, top_eigenvalues
from empirical.curvature.trace import METHODS, TraceEstimate, hessian_trace, layer_traces

__all__ = [
    "METHODS",
    "EigenEstimate",
    "SpectralDensity",
    "TraceEstimate",
    "exact_gauss_newton",
    "exact_hessian",
    "hessian_trace",
    "layer_traces",
    "spectral_density",
    "top_eigenvalues",
]
