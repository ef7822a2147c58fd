"""Noise models side by side: does the learning-rate conclusion hold, flip or vanish under another model?

Per noise model and level, over the runs that finished: how ΔL, the accuracy drop (clean − noisy
accuracy) and the prediction (½η² times the row's own noise trace, tr(HΣ₁) of that model, which for
additive noise is tr(H); for pcm the row's full prediction) move with the learning rate, each as
Spearman's ρ over the lr means with a 95% bootstrap interval (:mod:`~empirical.analysis.trend`;
seeds within lr and the shared draws; the accuracy drop and the prediction have no per-draw values,
so their intervals carry the seeds only), and the noise trace itself.

A model's direction of ΔL is the one its resolved levels agree on (``mixed`` where they disagree).
Against the reference model (the sweep's ``noise_model``) the learning-rate conclusion
:data:`HOLDS` (same direction), :data:`FLIPS` (the opposite one), :data:`VANISHES` (the reference's
is resolved, this model's is not) or is :data:`UNDETERMINED` (the reference's is not resolved, or mixed).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from empirical.analysis.levels import level_label
from empirical.analysis.resample import replicates
from empirical.analysis.tables import bracket, fixed
from empirical.analysis.trend import FALLS, FLAT, RISES, trend

HOLDS, FLIPS, VANISHES, UNDETERMINED = "holds", "flips", "vanishes", "undetermined"
MIXED = "mixed"
_SAYS = {HOLDS: "that conclusion holds", FLIPS: "it flips", VANISHES: "it vanishes",
         UNDETERMINED: "whether it holds is undetermined"}  # fmt: skip
QUANTITIES = {"delta_loss": "ΔL", "acc_drop": "accuracy drop", "predicted": "prediction", "trace": "noise trace"}
_KEYS = {"acc_drop": "acc_drop", "predicted": "p2", "trace": "trace"}  # quantity -> cell key (ΔL: the draws)


def compare_models(cells: list[dict[str, Any]], reference: str | None, reps: int,
                   rng: np.random.Generator) -> dict[str, Any]:  # fmt: skip
    """``analysis["noise_model_comparison"]``: per model (name order) its levels' trends and its conclusion
    against ``reference`` (the first model by name when None or absent), and the verdict sentences."""
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        by_model[c["noise_model"]].append(c)
    if reference not in by_model:
        reference = min(by_model, default=None)
    models = [_model(name, cs, reps, rng) for name, cs in sorted(by_model.items())]
    ref = next((m for m in models if m["noise_model"] == reference), None)
    for m in models:
        m["reference"] = m["noise_model"] == reference
        m["conclusion"] = conclusion(ref["direction"], m["direction"]) if ref and not m["reference"] else None
    out = {"reference": reference, "models": models}
    out["verdict"] = verdict_lines(out)
    return out


def conclusion(reference: str, other: str) -> str:
    """How the reference model's direction of ΔL with lr fares under another model."""
    if reference not in (RISES, FALLS):
        return UNDETERMINED
    if other == reference:
        return HOLDS
    return FLIPS if other in (RISES, FALLS) else VANISHES


def combined(directions: list[str]) -> str:
    """The direction the resolved levels agree on; :data:`MIXED` where they disagree, FLAT where none is resolved."""
    resolved = {d for d in directions if d in (RISES, FALLS)}
    return resolved.pop() if len(resolved) == 1 else MIXED if resolved else FLAT


def _model(name: str, cells: list[dict[str, Any]], reps: int, rng: np.random.Generator) -> dict[str, Any]:
    levels: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        levels[c["noise_level"]].append(c)
    rows = [_level(name, eta, cs, reps, rng) for eta, cs in sorted(levels.items())]
    return {"noise_model": name, "levels": rows,
            "direction": combined([r["delta_loss"]["direction"] for r in rows]),
            "predicted_direction": combined([r["predicted"]["direction"] for r in rows]),
            "acc_drop_direction": combined([r["acc_drop"]["direction"] for r in rows])}  # fmt: skip


def _level(name: str, eta: float, cs: list[dict[str, Any]], reps: int, rng: np.random.Generator) -> dict[str, Any]:
    groups = np.array([c["lr"] for c in cs])
    draws = [np.asarray(c["pair_increase"], float) if c.get("pair_increase") is not None else None for c in cs]
    if any(d is None for d in draws) or len({len(d) for d in draws}) != 1:
        draws = [np.array([c["delta_loss"]]) for c in cs]
    y = np.stack(draws)  # (n, K)
    x = np.array([[c.get(key, np.nan) for key in _KEYS.values()] for c in cs], float)  # (n, q)
    boot = replicates(groups, y, x, reps, rng)
    row: dict[str, Any] = {"noise_level": eta, "label": level_label(name, eta), "runs": len(cs),
                           "lrs": len(np.unique(groups)), "draws": int(y.shape[1]),
                           "delta_loss": trend(groups, y.mean(1), boot.y)}  # fmt: skip
    for j, quantity in enumerate(_KEYS):
        row[quantity] = trend(groups, x[:, j], boot.x[:, :, j])
    return row


def verdict_lines(comparison: dict[str, Any]) -> list[str]:
    """The comparison's sentences: the answer per model first, then per model and level the numbers."""
    models = comparison["models"]
    if len(models) < 2:
        return [f"One noise model ({comparison['reference']}) in these results: nothing to compare."]
    ref = next(m for m in models if m["reference"])
    others = "; ".join(f"{_SAYS[m['conclusion']]} under {m['noise_model']} ({_moves('ΔL', m['direction'])}, "
                       f"{_moves('the prediction', m['predicted_direction'])}, "
                       f"{_moves('the accuracy drop', m['acc_drop_direction'])})" for m in models if not m["reference"])
    lines = [f"Answer: under {ref['noise_model']} (the reference) {_moves('ΔL', ref['direction'])} with the learning "
             f"rate ({_moves('the prediction', ref['predicted_direction'])}, "
             f"{_moves('the accuracy drop', ref['acc_drop_direction'])}); {others}."]
    for m in models:
        parts = "; ".join(f"{r['label']}: ΔL ρ = {_rho(r['delta_loss'])} ({_means(r['delta_loss'])}), accuracy drop "
                          f"ρ = {_rho(r['acc_drop'])}, prediction ρ = {_rho(r['predicted'])}, noise trace "
                          f"({_means(r['trace'])})" for r in m["levels"])  # fmt: skip
        lines.append(f"{m['noise_model']}: Spearman ρ of the lr means against lr [95% bootstrap over seeds and "
                     f"shared draws], with the lr means — {parts}.")
    return lines


def _moves(what: str, direction: str) -> str:
    """'ΔL rises', 'ΔL falls', 'ΔL has no resolved direction', 'ΔL moves both ways across levels'."""
    return {RISES: f"{what} rises", FALLS: f"{what} falls", MIXED: f"{what} moves both ways across levels"}.get(
        direction, f"{what} has no resolved direction")


def _rho(t: dict[str, Any]) -> str:
    return f"{fixed(t['rho'])} {bracket(t, 'rho')}"


def _means(t: dict[str, Any]) -> str:
    return ", ".join(f"lr {e['lr']:g}: {e['mean']:.3g}" for e in t["per_lr"])
