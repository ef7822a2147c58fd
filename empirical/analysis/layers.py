"""Per-layer sensitivity (``layers.csv``): do the layers' ΔL add up, does the theory rank them right,
and which layers dominate?

Rows hold, per (run, layer, η), ΔL with noise on that layer alone, measured ± its Monte Carlo SE and
predicted (½η² tr(H_ll Σ₁,ll) + the layer's kink term) ± its SE.

- Additivity: per (run, η) the sum Σ_l ΔL_l against ΔL_all, the same run's noise.csv row at that η
  (its own noise model), as the ratio Σ/all with Fieller's interval and the ±10% equivalence test.
  The errors are combined as if independent (√Σ_l se_l² for the sum); the layer passes and the full
  pass share their draws, so the true errors are correlated and this interval is approximate. To
  second order the sum equals ΔL_all (Σ₁ is block-diagonal); a miss is cross-layer higher order.
- Rank agreement: per (run, η) Kendall's τ_b between predicted and measured over the layers (at least
  :data:`MIN_LAYERS`), and its mean over runs with a 95% percentile interval from a bootstrap over runs.
- Dominance: per η each layer's share of the sum, predicted and measured (mean over runs); a run's
  measured shares are NaN unless its sum is resolved (above :data:`~empirical.analysis.intervals.Z95` SEs).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from empirical.analysis.intervals import Z95
from empirical.analysis.resample import percentile
from empirical.analysis.stats import compare, median, num
from empirical.analysis.tables import fixed, percent

MIN_LAYERS = 3  # layers needed for a rank correlation


def kendall_tau(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's τ_b of two (n,) arrays (ties counted as in τ_b); NaN where either is constant or n < 2."""
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    iu = np.triu_indices(len(x), 1)
    sx, sy = sx[iu], sy[iu]
    denom = math.sqrt(float((sx != 0).sum()) * float((sy != 0).sum()))
    return float((sx * sy).sum() / denom) if denom else math.nan


def layer_summary(layer_rows: list[dict[str, Any]], cells: list[dict[str, Any]], reps: int,
                  rng: np.random.Generator) -> dict[str, Any]:  # fmt: skip
    """``analysis["layers"]``: ``cells`` (noise.csv joined, :func:`~empirical.analysis.predictions.cells`)
    give ΔL_all; per (run, η) the additivity and the rank agreement, per η their summaries and the
    dominant layers, per (lr, η, layer) the seed means for the figure, and the verdict sentences."""
    groups: dict[tuple[str, str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in layer_rows:
        groups[(str(r["run_id"]), str(r.get("noise_model") or "unnamed"), num(r["noise_level"]))].append(r)
    full = {(c["run_id"], c["noise_model"], c["noise_level"]): c for c in cells}
    per_run = [_run_level(key, rs, full.get(key)) for key, rs in sorted(groups.items())]
    levels: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in per_run:
        levels[(r["noise_model"], r["noise_level"])].append(r)
    out = {"runs": len({r["run_id"] for r in per_run}), "per_run": per_run,
           "per_level": [_level(m, eta, rs, reps, rng) for (m, eta), rs in sorted(levels.items())],
           "per_lr": _per_lr(layer_rows)}  # fmt: skip
    out["verdict"] = verdict_lines(out)
    return out


def _run_level(key: tuple[str, str, float], rows: list[dict[str, Any]], cell: dict[str, Any] | None) -> dict[str, Any]:
    run_id, model, eta = key
    m = np.array([num(r["measured"]) for r in rows])
    m_se = np.array([num(r["measured_se"]) for r in rows])
    p = np.array([num(r["predicted"]) for r in rows])
    p_se = np.array([num(r["predicted_se"]) for r in rows])
    total, total_se = float(m.sum()), float(np.sqrt((m_se**2).sum()))
    all_m = cell["delta_loss"] if cell else math.nan
    all_se = cell.get("delta_loss_se", math.nan) if cell else math.nan
    all_p = (cell["pk"] if math.isfinite(cell["pk"]) else cell["p2"]) if cell else math.nan
    return {"run_id": run_id, "lr": num(rows[0]["lr"]), "seed": int(num(rows[0]["seed"])), "noise_model": model,
            "noise_level": eta, "layers": [str(r["layer"]) for r in rows], "sum_measured": total,
            "sum_measured_se": total_se, "sum_predicted": float(p.sum()),
            "sum_predicted_se": float(np.sqrt((p_se**2).sum())), "all_measured": all_m, "all_measured_se": all_se,
            "all_predicted": all_p, "additivity": compare(total, total_se, all_m, all_se),
            "kendall_tau": kendall_tau(p, m) if len(rows) >= MIN_LAYERS else math.nan,
            "measured_share": (m / total).tolist() if total > Z95 * total_se else [math.nan] * len(rows),
            "predicted_share": (p / p.sum()).tolist() if p.sum() else [math.nan] * len(rows)}  # fmt: skip


def _level(model: str, eta: float, rs: list[dict[str, Any]], reps: int, rng: np.random.Generator) -> dict[str, Any]:
    taus = np.array([r["kendall_tau"] for r in rs if math.isfinite(r["kendall_tau"])])
    low = high = math.nan
    used = 0
    if len(taus) >= 2:
        low, high, used = percentile(taus[rng.integers(0, len(taus), size=(reps, len(taus)))].mean(axis=1))
    names = rs[0]["layers"]
    same = [r for r in rs if r["layers"] == names]
    add = [r["additivity"] for r in rs]
    return {"noise_model": model, "noise_level": eta, "runs": len(rs), "with_full": sum(math.isfinite(a["ratio"]) for a in add),
            "additivity_median_ratio": median(a["ratio"] for a in add),
            **{o: sum(a["equivalence"] == o for a in add if math.isfinite(a["ratio"])) for o in ("holds", "fails", "undetermined")},
            "kendall_tau": float(taus.mean()) if len(taus) else math.nan, "kendall_tau_ci_low": low,
            "kendall_tau_ci_high": high, "kendall_runs": len(taus), "replicates": used,
            "layers": [{"layer": name, "measured_share": _mean([r["measured_share"][i] for r in same]),
                        "predicted_share": _mean([r["predicted_share"][i] for r in same])}
                       for i, name in enumerate(names)]}  # fmt: skip


def _mean(values: list[float]) -> float:
    """Mean of the finite values; NaN if none."""
    v = [x for x in values if math.isfinite(x)]
    return float(np.mean(v)) if v else math.nan


def _top(entry: dict[str, Any], key: str) -> str:
    if not math.isfinite(entry[key]):
        return "not resolved (no run's sum is above its error)"
    return f"{entry['layer']} ({percent(entry[key])} of the sum)"


def _per_lr(layer_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (noise model, lr, η, layer): the seed means of measured and predicted, their errors √Σse²/n."""
    groups: dict[tuple[str, float, float, str], list[dict[str, Any]]] = defaultdict(list)
    for r in layer_rows:
        groups[(str(r.get("noise_model") or "unnamed"), num(r["lr"]), num(r["noise_level"]), str(r["layer"]))].append(r)
    out = []
    for (model, lr, eta, layer), rs in groups.items():
        n = len(rs)
        entry = {"noise_model": model, "lr": lr, "noise_level": eta, "layer": layer, "seeds": n}
        for k in ("measured", "predicted"):
            entry[k] = float(np.mean([num(r[k]) for r in rs]))
            entry[f"{k}_se"] = float(np.sqrt(sum(num(r[f"{k}_se"]) ** 2 for r in rs)) / n)
        out.append(entry)
    return sorted(out, key=lambda e: (e["noise_model"], e["lr"], e["noise_level"]))


def verdict_lines(s: dict[str, Any]) -> list[str]:
    """The per-layer sentences: additivity, rank agreement and the dominant layers per η."""
    if not s["per_level"]:
        return ["Per layer: no layers.csv rows in these results."]
    lines = []
    for lv in s["per_level"]:
        at = f"{lv['noise_model']}, η = {lv['noise_level']:g}, {lv['runs']} runs"
        top_m = max(lv["layers"], key=lambda e: e["measured_share"] if math.isfinite(e["measured_share"]) else -math.inf)
        top_p = max(lv["layers"], key=lambda e: e["predicted_share"] if math.isfinite(e["predicted_share"]) else -math.inf)
        tau = (f"Kendall τ = {fixed(lv['kendall_tau'])} [{fixed(lv['kendall_tau_ci_low'])}, "
               f"{fixed(lv['kendall_tau_ci_high'])}] over {lv['kendall_runs']} runs (bootstrap over runs)"
               if lv["kendall_runs"] else f"no rank agreement (fewer than {MIN_LAYERS} layers)")  # fmt: skip
        shares = ", ".join(f"{e['layer']} {percent(e['measured_share'])} ({percent(e['predicted_share'])})"
                           for e in lv["layers"])  # fmt: skip
        lines.append(
            f"Per layer ({at}): Σ_l ΔL_l / ΔL_all median {fixed(lv['additivity_median_ratio'])}, ±10% equivalence "
            f"holds/fails/undetermined in {lv['holds']}/{lv['fails']}/{lv['undetermined']} of {lv['with_full']} runs "
            f"with ΔL_all (errors combined as independent; the passes share draws, so approximate). Rank agreement "
            f"of predicted and measured layer sensitivity: {tau}. Dominant layer measured "
            f"{_top(top_m, 'measured_share')}, predicted {top_p['layer']} "
            f"({percent(top_p['predicted_share'])}); shares measured (predicted) — {shares}.")  # fmt: skip
    return lines
