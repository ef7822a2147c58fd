"""Which layers does weight noise hurt? Predicted and measured loss increase for any classifier.

``measure(model, x, y, *, noise_model, levels, samples, layer_samples, ...) -> Sensitivity``:
for any ``nn.Module`` returning logits (N, C) and a split (x, y), with weight noise
``w + η s ⊙ z`` (``empirical.experiment.noise``):

- predicted E[ΔL] = ½η² tr(HΣ₁) + kink(η), overall and per layer l with noise on l alone
  (½η² tr(H_ll Σ₁,ll) + kink_l(η)), each ± SE (``empirical.curvature``);
- measured ΔL by antithetic Monte Carlo with common random numbers, overall and per layer
  (layer l's draw k is the l-slice of the overall draw k, ``layers.py``), ± SE;
- the additivity check Σ_l ΔL_l − ΔL_all per level, paired draw by draw, and the rank agreement of
  predicted and measured ΔL_l (Kendall τ with a bootstrap interval) (``agreement.py``).

``Sensitivity.rows()`` gives the ``layers.csv`` rows (``LAYER_COLUMNS``), ``overall_rows()`` the
per-level summary; ``tables.text`` prints both. ``layer_monte_carlo`` is the per-layer Monte Carlo
alone. ``python -m empirical.sensitivity RUN_DIR`` does the same for a finished sweep run.

Example (a network of one's own):
    >>> import torch
    >>> from torch import nn
    >>> from empirical import sensitivity
    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = torch.randn(256, 20, generator=g), torch.randint(0, 3, (256,), generator=g)
    >>> torch.manual_seed(0) and None
    >>> net = nn.Sequential(nn.Linear(20, 32), nn.Tanh(), nn.Linear(32, 3))
    >>> result = sensitivity.measure(net, x, y, levels=(0.05, 0.1), samples=16)
    >>> list(result.layers), len(result.rows())
    (['0.weight', '2.weight'], 4)
"""

from empirical.sensitivity import tables
from empirical.sensitivity.agreement import Additivity, RankAgreement
from empirical.sensitivity.layers import layer_monte_carlo
from empirical.sensitivity.measure import measure
from empirical.sensitivity.result import LAYER_COLUMNS, Component, Sensitivity

__all__ = [
    "tables",
    "LAYER_COLUMNS",
    "Additivity",
    "Component",
    "RankAgreement",
    "Sensitivity",
    "layer_monte_carlo",
    "measure",
]
