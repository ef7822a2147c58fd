"""What the theory predicts for each measurement: one record per (finished run, noise level).

A *cell* joins a run's metrics (``runs.csv`` row) with one noise row (``noise.csv``) and adds the
predictions of ``theory.predict`` from the run's curvature on the test split; ΔL is mean
cross-entropy (nats):

- ``p2`` ± ``p2_se``: ½η² tr(HΣ₁) (second order; the error is the trace's),
- ``term4`` ± ``term4_se``: η⁴ M/24 with M = E_v[D⁴L[v,v,v,v]], v ~ N(0, Σ₁),
- ``p4`` ± ``p4_se``: p2 + term4 (fourth order; errors added in quadrature),
- ``kink`` ± ``kink_se``: the kink term ``kink_delta_loss`` (0 for smooth activations; NaN in results
  measured before it was), and ``pk`` ± ``pk_se``: p2 + kink (errors added in quadrature).

A cell also carries the row's ``pair_increase`` (the per-pair increases d_k, an array) when the
rows come from the run records, for :mod:`~empirical.analysis.pooling`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from empirical.analysis.load import TEXT_COLUMNS
from empirical.analysis.stats import finite, num
from theory import predict


def cells(run_rows: list[dict[str, Any]], noise_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cells of the runs with ``status == "ok"`` and the levels with a measured ΔL, sorted by (lr, seed, η).

    Each holds the run's and the row's numeric values, ``run_id``, ``seed`` (int), ``acc_drop`` =
    clean − noisy accuracy, and the predictions listed in the module docstring.
    """
    runs = {r["run_id"]: r for r in run_rows if r.get("status") == "ok"}
    out = []
    for row in noise_rows:
        run = runs.get(row.get("run_id"))
        if run is None or not finite(num(row.get("delta_loss")), num(row.get("noise_level"))):
            continue
        cell = {k: num(v) for k, v in run.items() if k not in TEXT_COLUMNS}
        cell.update({k: num(v) for k, v in row.items() if k not in TEXT_COLUMNS})
        cell["run_id"], cell["seed"] = run["run_id"], int(num(run["seed"]))
        cell["acc_drop"] = cell.get("clean_acc", math.nan) - cell.get("noisy_acc_mean", math.nan)
        if isinstance(row.get("pair_increase"), list):
            cell["pair_increase"] = np.asarray(row["pair_increase"], float)
        cell.update(_predict(cell))
        out.append(cell)
    return sorted(out, key=lambda c: (c["lr"], c["seed"], c["noise_level"]))


def _predict(c: dict[str, Any]) -> dict[str, float]:
    eta, t, t_se = c["noise_level"], c.get("noise_trace_test", math.nan), c.get("noise_trace_test_se", math.nan)
    m, m_se = c.get("fourth_moment_test", math.nan), c.get("fourth_moment_test_se", math.nan)
    kink, kink_se = c.get("kink_delta_loss", math.nan), c.get("kink_delta_loss_se", math.nan)
    p2_se = float(predict.delta_loss_second_order(eta, t_se))  # linear in tr(HΣ₁)
    term4_se = float(predict.delta_loss_fourth_order(eta, 0.0, m_se))  # linear in M
    return {
        "p2": float(predict.delta_loss_second_order(eta, t)),
        "p2_se": p2_se,
        "term4": float(predict.delta_loss_fourth_order(eta, 0.0, m)),
        "term4_se": term4_se,
        "p4": float(predict.delta_loss_fourth_order(eta, t, m)),
        "p4_se": _quadrature(p2_se, term4_se),
        "kink": kink,
        "kink_se": kink_se,
        "pk": float(predict.delta_loss_with_kinks(eta, t, kink)),
        "pk_se": _quadrature(p2_se, kink_se),
    }


def _quadrature(a: float, b: float) -> float:
    return math.hypot(a, b) if finite(a, b) else math.nan
