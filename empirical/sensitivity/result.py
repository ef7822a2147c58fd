"""What :func:`empirical.sensitivity.measure` returns: predicted and measured ΔL, overall and per layer.

Conventions: ΔL is the increase of the mean cross-entropy (nats) over the split given to
``measure``, averaged over the noise; the prediction is ½η² tr(HΣ₁) + kink(η) restricted to the
noisy parameters (``theory.predict.delta_loss_with_kinks``), its SE combines the trace's and the
kink term's (the prediction is linear in both); measured values are antithetic Monte Carlo means
with SEs over pairs (``empirical.experiment.evaluate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from empirical.curvature import KinkEstimate, TraceEstimate
from empirical.experiment.evaluate import NoisyEvaluation
from empirical.sensitivity import agreement
from theory import predict

LAYER_COLUMNS = ("layer", "noise_level", "predicted", "measured", "measured_se")


@dataclass(frozen=True)
class Component:
    """Noise on every target (``name == "all"``) or on one layer alone, at each noise level.

    ``trace``: tr(HΣ₁) over the noisy parameters (the diagonal block tr(H_ll Σ₁,ll) for a layer);
    ``kink``: the kink term of the same noise, None when not computed; ``measured``: one Monte Carlo
    evaluation per level; ``seconds``: the Monte Carlo's wall time.
    """

    name: str
    trace: TraceEstimate
    kink: KinkEstimate | None
    measured: tuple[NoisyEvaluation, ...]
    seconds: float

    @property
    def levels(self) -> np.ndarray:
        return np.array([e.noise_level for e in self.measured])

    def kink_values(self) -> tuple[np.ndarray, np.ndarray]:
        """kink(η) and its SE per level (zeros when not computed)."""
        if self.kink is None:
            return np.zeros(len(self.measured)), np.zeros(len(self.measured))
        return np.array(self.kink.values), np.array(self.kink.ses)

    def predicted(self) -> np.ndarray:
        """½η² tr + kink(η) per level (nats)."""
        kink, _ = self.kink_values()
        return np.asarray(predict.delta_loss_with_kinks(self.levels, self.trace.value, kink), float)

    def predicted_se(self) -> np.ndarray:
        """SE of :meth:`predicted` per level: ½η² se(tr) and se(kink) in quadrature."""
        _, kink_se = self.kink_values()
        return np.hypot(np.asarray(predict.delta_loss_second_order(self.levels, self.trace.se), float), kink_se)

    def measured_mean(self) -> np.ndarray:
        return np.array([e.pair_increase.mean() for e in self.measured])

    def measured_se(self) -> np.ndarray:
        return np.array([e.row()["delta_loss_se"] for e in self.measured])


@dataclass(frozen=True)
class Sensitivity:
    """Overall and per-layer sensitivity to weight noise of one model on one split.

    ``layers`` in the model's parameter order; ``additivity`` and ``ranks`` one entry per level
    (``additivity`` empty when ``layers`` leaves out some noise target); ``seconds``: wall time of
    the curvature (traces and kink terms) and of the Monte Carlo, overall and per layer together.
    """

    noise_model: str
    levels: tuple[float, ...]
    samples: int
    layer_samples: int
    overall: Component
    layers: dict[str, Component]
    additivity: tuple[agreement.Additivity, ...]
    ranks: tuple[agreement.RankAgreement, ...]
    seconds: dict[str, float]

    def rows(self) -> list[dict[str, Any]]:
        """``layers.csv`` rows (``LAYER_COLUMNS``), by layer then level."""
        return [
            {"layer": name, "noise_level": eta, "predicted": float(p), "measured": float(m), "measured_se": float(s)}
            for name, c in self.layers.items()
            for eta, p, m, s in zip(self.levels, c.predicted(), c.measured_mean(), c.measured_se())
        ]

    def shares(self, index: int) -> dict[str, dict[str, float]]:
        """Per layer, its share of Σ_l ΔL_l at level ``index``, ``"predicted"`` and ``"measured"``."""
        predicted = {n: float(c.predicted()[index]) for n, c in self.layers.items()}
        measured = {n: float(c.measured_mean()[index]) for n, c in self.layers.items()}
        return {"predicted": agreement.shares(predicted), "measured": agreement.shares(measured)}

    def overall_rows(self) -> list[dict[str, Any]]:
        """Per level: the overall prediction and measurement, the additivity check, the rank agreement
        and the layers that dominate (fewest covering half of Σ_l ΔL_l, measured)."""
        c = self.overall
        kink, kink_se = c.kink_values()
        rows = []
        for i, eta in enumerate(self.levels):
            row = {
                "noise_level": eta, "noise_trace": c.trace.value, "noise_trace_se": c.trace.se,
                "kink": float(kink[i]), "kink_se": float(kink_se[i]),
                "predicted": float(c.predicted()[i]), "predicted_se": float(c.predicted_se()[i]),
                "measured": float(c.measured_mean()[i]), "measured_se": float(c.measured_se()[i]),
                "kendall_tau": self.ranks[i].tau, "kendall_low": self.ranks[i].low, "kendall_high": self.ranks[i].high,
                "dominant": agreement.dominant({n: float(l.measured_mean()[i]) for n, l in self.layers.items()}),
            }  # fmt: skip
            if self.additivity:
                a = self.additivity[i]
                row.update(layer_sum=a.layer_sum, additivity_difference=a.difference, additivity_se=a.difference_se)
            rows.append(row)
        return rows
