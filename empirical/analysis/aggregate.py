"""Aggregates over seeds with confidence intervals, the sweet spots, and the printed tables.

All intervals are two-sided 95% Student-t intervals over seeds (NaN with fewer than two seeds).
A learning rate counts for a sweet spot only if none of its seeds diverged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from scipy import stats

RUN_METRICS = (
    "train_loss", "train_acc", "test_loss", "test_acc", "hessian_trace_train", "hessian_trace_test",
    "noise_trace_test", "lambda_max_train", "stability_bound", "weight_norm",
)  # fmt: skip
LEVEL_METRICS = (
    "clean_loss", "noisy_loss_mean", "delta_loss", "predicted_delta_loss", "clean_acc", "noisy_acc_mean",
    "normalized_acc",
)  # fmt: skip


def mean_ci(values: list[float], confidence: float = 0.95) -> dict[str, float]:
    """Mean and Student-t confidence interval of finite ``values``; ``n`` counts them."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    n = len(v)
    if n == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    mean = float(v.mean())
    if n < 2:
        return {"mean": mean, "ci_low": math.nan, "ci_high": math.nan, "n": 1}
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def per_lr(run_rows: list[dict[str, Any]], noise_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per learning rate: run counts, run metrics and per-level noise metrics (mean, CI)."""
    runs_by_lr: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for r in run_rows:
        runs_by_lr[r["lr"]].append(r)
    noise_by_lr: dict[float, dict[float, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in noise_rows:
        noise_by_lr[r["lr"]][r["noise_level"]].append(r)
    out = []
    for lr in sorted(runs_by_lr):
        rows = runs_by_lr[lr]
        ok = [r for r in rows if r["status"] == "ok"]
        entry: dict[str, Any] = {"lr": lr, "runs": len(rows), "ok": len(ok), "diverged": len(rows) - len(ok)}
        entry.update({m: mean_ci([r.get(m) for r in ok]) for m in RUN_METRICS})
        entry["levels"] = [
            {"noise_level": eta, **{m: mean_ci([r.get(m) for r in level_rows]) for m in LEVEL_METRICS}}
            for eta, level_rows in sorted(noise_by_lr[lr].items())
        ]
        out.append(entry)
    return out


def sweet_spots(aggregates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per noise level: lr of best mean noisy accuracy, of lowest mean noisy loss, and the predicted one.

    The prediction is argmin over lr of mean(clean loss + ½η² tr(HΣ₁)) (``predicted_delta_loss``).
    """
    stable = [a for a in aggregates if a["diverged"] == 0 and a["ok"] > 0]
    by_level: dict[float, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
    for a in stable:
        for level in a["levels"]:
            by_level[level["noise_level"]].append((a["lr"], level))
    spots = []
    for eta, entries in sorted(by_level.items()):
        spots.append(
            {
                "noise_level": eta,
                "measured_lr_acc": _arg(entries, lambda l: -l["noisy_acc_mean"]["mean"]),
                "measured_lr_loss": _arg(entries, lambda l: l["noisy_loss_mean"]["mean"]),
                "predicted_lr": _arg(entries, lambda l: l["clean_loss"]["mean"] + l["predicted_delta_loss"]["mean"]),
            }
        )
    return spots


def agreement(noise_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per noise level, across finished runs: median measured/predicted ΔL and Spearman ρ between them."""
    by_level: dict[float, list[tuple[float, float]]] = defaultdict(list)
    for r in noise_rows:
        m, p = r.get("delta_loss"), r.get("predicted_delta_loss")
        if m is not None and p is not None and math.isfinite(m) and math.isfinite(p) and p > 0:
            by_level[r["noise_level"]].append((m, p))
    out = []
    for eta, pairs in sorted(by_level.items()):
        m, p = np.array(pairs).T
        rho = float(stats.spearmanr(m, p).statistic) if len(m) > 2 else math.nan
        out.append({"noise_level": eta, "runs": len(m), "median_ratio": float(np.median(m / p)), "spearman_rho": rho})
    return out


def build(config: dict[str, Any], run_rows: list[dict[str, Any]], noise_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The contents of ``summary.json``."""
    aggregates = per_lr(run_rows, noise_rows)
    return {
        "preset": config.get("preset"),
        "runs": len(run_rows),
        "diverged": sum(r["status"] != "ok" for r in run_rows),
        "per_lr": aggregates,
        "sweet_spot": sweet_spots(aggregates),
        "agreement": agreement(noise_rows),
    }


def format_tables(summary: dict[str, Any]) -> str:
    """Human-readable tables: per-lr curvature and clean accuracy, noisy accuracy, sweet spots."""
    lines = ["Per learning rate (mean ± 95% CI half-width over seeds):"]
    head = f"{'lr':>8} {'ok':>5} {'test acc':>15} {'tr(H) test':>17} {'tr(HΣ₁) test':>17} {'λ_max':>15} {'2(1+β)/lr':>10}"
    lines += [head, "-" * len(head)]
    for a in summary["per_lr"]:
        lines.append(
            f"{a['lr']:>8g} {a['ok']:>2}/{a['runs']:<2} {_pm(a['test_acc'], 3):>15} {_pm(a['hessian_trace_test'], 4):>17}"
            f" {_pm(a['noise_trace_test'], 4):>17} {_pm(a['lambda_max_train'], 4):>15} {a['stability_bound']['mean']:>10.4g}"
        )
    levels = sorted({lv["noise_level"] for a in summary["per_lr"] for lv in a["levels"]})
    lines += ["", "Noisy test accuracy (mean ± 95% CI half-width over seeds) by noise level η:"]
    head = f"{'lr':>8} " + " ".join(f"{'η=' + format(eta, 'g'):>15}" for eta in levels)
    lines += [head, "-" * len(head)]
    for a in summary["per_lr"]:
        cells = {lv["noise_level"]: _pm(lv["noisy_acc_mean"], 3) for lv in a["levels"]}
        lines.append(f"{a['lr']:>8g} " + " ".join(f"{cells.get(eta, ''):>15}" for eta in levels))
    lines += ["", "Sweet spot by noise level (lr):"]
    lines.append(f"{'η':>8} {'best noisy acc':>15} {'lowest noisy loss':>18} {'predicted':>10}")
    for s in summary["sweet_spot"]:
        lines.append(
            f"{s['noise_level']:>8g} {_g(s['measured_lr_acc']):>15} {_g(s['measured_lr_loss']):>18} {_g(s['predicted_lr']):>10}"
        )
    return "\n".join(lines)


def _arg(entries: list[tuple[float, dict[str, Any]]], key) -> float | None:
    scored = [(key(level), lr) for lr, level in entries if math.isfinite(key(level))]
    return min(scored)[1] if scored else None


def _pm(stat: dict[str, float], digits: int) -> str:
    if not math.isfinite(stat["mean"]):
        return "—"
    if not math.isfinite(stat["ci_high"]):
        return f"{stat['mean']:.{digits}g}"
    return f"{stat['mean']:.{digits}g} ± {(stat['ci_high'] - stat['ci_low']) / 2:.2g}"


def _g(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"
