"""Where the predicted spread of ΔL across noise draws is compared with the measured one.

Measured: the standard deviation s of ΔL over the draws, ± its normal-theory error
s/√(2(pairs − 1)) (antithetic pairs counted once). Predicted: √(η² gᵀΣ₁g + ½η⁴ tr((HΣ₁)²))
(``theory.predict.delta_loss_variance``; the inputs from ``empirical.curvature.variance_terms``),
± the error of tr((HΣ₁)²) carried through the square root (gᵀΣ₁g is exact).

The prediction omits an η⁴ term of Var[ΔL] that couples the gradient with the third derivative
(gᵀΣ₁KΣ₁, K the third-derivative tensor contracted with Σ₁), of the same order as the η⁴ term it
keeps whenever g ≠ 0, as on the test split. It is not estimated here; instead the check is
restricted to the (run, level) cells where the η² term η² gᵀΣ₁g is at least :data:`DOMINANT` of the
predicted variance, so every η⁴ term together is small there (``checked``; the fits use only those).
"""

from __future__ import annotations

import math
from typing import Any

from empirical.analysis.orders import level_fits
from empirical.analysis.stats import compare, finite
from theory import predict

DOMINANT = 0.9  # share of the predicted variance the η² gradient term must have for the cell to be checked


def variance_rows(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (run, level) with the inputs measured: measured against predicted std of ΔL, and the share
    of the predicted variance due to the gradient term η² gᵀΣ₁g."""
    rows = []
    for c in cells:
        eta, gsg = c["noise_level"], c.get("grad_cov_grad_test", math.nan)
        hs2, hs2_se = c.get("hsigma_sq_trace_test", math.nan), c.get("hsigma_sq_trace_test_se", math.nan)
        s, samples = c.get("delta_loss_std", math.nan), c.get("samples", math.nan)
        if not finite(gsg, hs2, s):
            continue
        var = float(predict.delta_loss_variance(eta, gsg, hs2))
        var_se = float(predict.delta_loss_variance(eta, 0.0, hs2_se))  # gᵀΣ₁g is exact
        std = math.sqrt(var) if var > 0 else math.nan
        std_se = var_se / (2 * std) if finite(std, var_se) else math.nan
        pairs = samples / 2
        s_se = s / math.sqrt(2 * (pairs - 1)) if math.isfinite(pairs) and pairs > 1 else math.nan
        grad_part = float(predict.delta_loss_variance(eta, gsg, 0.0))
        rows.append({
            "run_id": c["run_id"], "lr": c["lr"], "seed": c["seed"], "noise_level": eta,
            "measured_std": s, "measured_std_se": s_se, "predicted_std": std, "predicted_std_se": std_se,
            "gradient_share": grad_part / var if var > 0 else math.nan, **compare(s, s_se, std, std_se),
        })  # fmt: skip
        rows[-1]["checked"] = bool(rows[-1]["gradient_share"] >= DOMINANT)
    return rows


def variance_fit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per level across the checked runs: the fits of :func:`~empirical.analysis.orders.level_fits` on the stds."""
    return level_fits([{**r, "measured": r["measured_std"], "predicted": r["predicted_std"]} for r in rows
                       if r["checked"]])  # fmt: skip
