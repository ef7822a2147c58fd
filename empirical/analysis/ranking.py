"""Which curvature explains robustness: Spearman ρ across learning rates with a bootstrap interval.

Per noise level, over the learning rates with finished runs (seed means): ρ between each
curvature, tr(H) (``trace``) or tr(HΣ₁) (``noise_trace``), and each target, ΔL (``delta_loss``)
or clean − noisy accuracy (``acc_drop``); the 95% interval is the percentile interval of ρ over a
bootstrap that resamples seeds within each learning rate (replicates with a constant column are
left out). Fewer than 3 learning rates give NaN.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from empirical.analysis.stats import Bootstrap, finite, spearman_rows

CURVATURES = {"trace": "hessian_trace_test", "noise_trace": "noise_trace_test"}  # name -> runs.csv column
TARGETS = ("delta_loss", "acc_drop")


def spearman(cells: list[dict[str, Any]], boot: Bootstrap) -> list[dict[str, Any]]:
    """Rows (noise level, curvature, target) with ρ across learning rates and its bootstrap interval."""
    keys = [*CURVATURES.values(), *TARGETS]
    levels: dict[float, dict[float, list[list[float]]]] = defaultdict(lambda: defaultdict(list))
    for c in cells:
        values = [c.get(k, math.nan) for k in keys]
        if finite(*values):
            levels[c["noise_level"]][c["lr"]].append(values)
    out = []
    for eta, lrs in sorted(levels.items()):
        per_lr = [np.asarray(v, float) for _, v in sorted(lrs.items())]
        point = np.stack([v.mean(axis=0) for v in per_lr])  # (n_lr, 4)
        boots = boot.means(per_lr) if len(per_lr) >= 3 else None
        for ci, curvature in enumerate(CURVATURES):
            for ti, target in enumerate(TARGETS):
                rho = low = high = math.nan
                if boots is not None:
                    rho = float(spearman_rows(point[None, :, ci], point[None, :, 2 + ti])[0])
                    rhos = spearman_rows(boots[:, :, ci], boots[:, :, 2 + ti])
                    rhos = rhos[np.isfinite(rhos)]
                    if len(rhos):
                        low, high = (float(q) for q in np.percentile(rhos, [2.5, 97.5]))
                out.append({"noise_level": eta, "curvature": curvature, "target": target, "rho": rho,
                            "ci_low": low, "ci_high": high, "lrs": len(per_lr),
                            "seeds": int(sum(len(v) for v in per_lr)), "bootstrap": boot.reps})  # fmt: skip
    return out
