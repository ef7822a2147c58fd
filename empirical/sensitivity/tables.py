"""The printed tables of a :class:`~empirical.sensitivity.result.Sensitivity`: overall and per layer."""

from __future__ import annotations

from empirical.analysis.tables import sig
from empirical.sensitivity.result import Sensitivity


def _pm(value: float, se: float) -> str:
    return f"{sig(value, 4)} ± {sig(se, 2)}"


def _grid(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header, *rows])


def text(result: Sensitivity) -> str:
    """Overall: prediction, measurement, additivity and rank agreement per level; then per layer and level."""
    c = result.overall
    head = (f"noise model {result.noise_model}; tr(HΣ₁) = {_pm(c.trace.value, c.trace.se)}; "
            f"{result.samples} draws overall, {result.layer_samples} per layer")  # fmt: skip
    overall = []
    for row in result.overall_rows():
        overall.append([
            sig(row["noise_level"], 3), _pm(row["predicted"], row["predicted_se"]), _pm(row["measured"], row["measured_se"]),
            sig(row.get("layer_sum"), 4), _pm(row.get("additivity_difference", float("nan")), row.get("additivity_se", float("nan"))),
            f"{sig(row['kendall_tau'], 2)} [{sig(row['kendall_low'], 2)}, {sig(row['kendall_high'], 2)}]",
            ", ".join(row["dominant"]),
        ])  # fmt: skip
    overall_header = ["η", "predicted ΔL", "measured ΔL", "Σ_l ΔL_l", "Σ_l ΔL_l − ΔL", "Kendall τ [95%]", "dominant"]
    layers = []
    for i, eta in enumerate(result.levels):
        shares = result.shares(i)
        for name, part in result.layers.items():
            layers.append([
                name, sig(eta, 3), _pm(part.trace.value, part.trace.se),
                _pm(part.predicted()[i], part.predicted_se()[i]), _pm(part.measured_mean()[i], part.measured_se()[i]),
                f"{100 * shares['predicted'][name]:.0f}%", f"{100 * shares['measured'][name]:.0f}%",
            ])  # fmt: skip
    layer_header = ["layer", "η", "tr(H_ll Σ₁,ll)", "predicted ΔL_l", "measured ΔL_l", "share pred.", "share meas."]
    return "\n\n".join([head, _grid(overall_header, overall), _grid(layer_header, layers)])
