"""What the theory predicts for each measurement: one record per (finished run, noise level).

A *cell* joins a run's metrics (``runs.csv`` row) with one noise row (``noise.csv``) and adds the
predictions of ``theory.predict`` from the run's curvature on the test split; ΔL is mean
cross-entropy (nats):

- ``p2`` ± ``p2_se``: ½η² tr(HΣ₁) (second order; the error is the trace's),
- ``term4`` ± ``term4_se``: η⁴ M/24 with M = E_v[D⁴L[v,v,v,v]], v ~ N(0, Σ₁),
- ``p4`` ± ``p4_se``: p2 + term4 (fourth order; errors added in quadrature),
- ``kink`` ± ``kink_se``: the kink term ``kink_delta_loss`` (0 for smooth activations; NaN in results
  measured before it was), and ``pk`` ± ``pk_se``: p2 + kink (errors added in quadrature).

The curvature is the row's own: ``trace`` ± ``trace_se`` is the row's ``noise_trace`` (its noise
model's tr(HΣ₁); for additive noise tr(H)), or the run's ``noise_trace_test`` in results that predate
the column. A :data:`TIMED` model (``pcm``) has inference times, not η, as levels: its ``p2`` is the
row's ``predicted_delta_loss`` = gᵀμ + ½μᵀHμ + ½tr(HΣ(t)) ± ``predicted_delta_loss_se``, ``mean_term``
is gᵀμ + ½μᵀHμ, and the η-specific terms (``term4``, ``p4``, ``kink``, ``pk``) are NaN.

runs.csv measures the run-level curvature (:data:`REFERENCE_ONLY`) for the sweep's ``noise_model``
alone; a cell of another model (``reference`` given) has them NaN, so its fourth order and spread
are not computed on the wrong Σ₁.

A cell also carries the row's ``pair_increase`` (the per-pair increases d_k, an array) when the
rows come from the run records, for :mod:`~empirical.analysis.pooling`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from empirical.analysis.levels import TIMED
from empirical.analysis.load import TEXT_COLUMNS
from empirical.analysis.stats import finite, num
from theory import predict

REFERENCE_ONLY = ("noise_trace_test", "noise_trace_test_se", "fourth_moment_test", "fourth_moment_test_se",
                  "grad_cov_grad_test", "hsigma_sq_trace_test", "hsigma_sq_trace_test_se")  # fmt: skip


def cells(
    run_rows: list[dict[str, Any]], noise_rows: list[dict[str, Any]], reference: str | None = None
) -> list[dict[str, Any]]:
    """Cells of the runs with ``status == "ok"`` and the levels with a measured ΔL, sorted by (lr, seed, η);
    with ``reference`` (the sweep's ``noise_model``) the other models' cells lack :data:`REFERENCE_ONLY`.

    Each holds the run's and the row's numeric values, ``run_id``, ``seed`` (int), ``noise_model`` (the
    row's, ``"unnamed"`` where it has none), ``acc_drop`` =
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
        cell["noise_model"] = str(row.get("noise_model") or "unnamed")
        if reference is not None and cell["noise_model"] != reference:
            cell.update(dict.fromkeys(REFERENCE_ONLY, math.nan))
        cell["acc_drop"] = cell.get("clean_acc", math.nan) - cell.get("noisy_acc_mean", math.nan)
        if isinstance(row.get("pair_increase"), list):
            cell["pair_increase"] = np.asarray(row["pair_increase"], float)
        cell.update(_timed(cell) if cell["noise_model"] in TIMED else _predict(cell))
        out.append(cell)
    return sorted(out, key=lambda c: (c["lr"], c["seed"], c["noise_level"]))


def _trace(c: dict[str, Any]) -> tuple[float, float]:
    """The row's noise trace and its SE; the run's ``noise_trace_test`` where the row has none."""
    if math.isfinite(c.get("noise_trace", math.nan)):
        return c["noise_trace"], c.get("noise_trace_se", math.nan)
    return c.get("noise_trace_test", math.nan), c.get("noise_trace_test_se", math.nan)


def _timed(c: dict[str, Any]) -> dict[str, float]:
    """A pcm cell's prediction (the row's full one) and its mean term; NaN for the η-specific terms."""
    t, t_se = _trace(c)
    nan = dict.fromkeys(("term4", "term4_se", "p4", "p4_se", "kink", "kink_se", "pk", "pk_se"), math.nan)
    return {**nan, "trace": t, "trace_se": t_se, "p2": c.get("predicted_delta_loss", math.nan),
            "p2_se": c.get("predicted_delta_loss_se", math.nan), "mean_term": c.get("mean_delta_loss", math.nan)}


def _predict(c: dict[str, Any]) -> dict[str, float]:
    eta = c["noise_level"]
    t, t_se = _trace(c)
    m, m_se = c.get("fourth_moment_test", math.nan), c.get("fourth_moment_test_se", math.nan)
    kink, kink_se = c.get("kink_delta_loss", math.nan), c.get("kink_delta_loss_se", math.nan)
    p2_se = float(predict.delta_loss_second_order(eta, t_se))  # linear in tr(HΣ₁)
    term4_se = float(predict.delta_loss_fourth_order(eta, 0.0, m_se))  # linear in M
    return {
        "trace": t,
        "trace_se": t_se,
        "mean_term": 0.0,
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
