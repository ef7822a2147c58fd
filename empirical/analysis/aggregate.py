"""Per-learning-rate aggregates over seeds (``summary.json["per_lr"]``): mean and 95% Student-t interval.

Training metrics are aggregated over the seeds that finished (``status == "ok"``); the quantities
fixed before training (:data:`PRESET_METRICS`, e.g. the stability bound 2(1+β)/lr) over every run
of the learning rate, so a learning rate whose seeds all diverged still has them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from empirical.analysis.stats import mean_ci

RUN_METRICS = (
    "train_loss", "train_acc", "test_loss", "test_acc", "hessian_trace_train", "hessian_trace_test",
    "noise_trace_test", "lambda_max_train", "stability_bound", "weight_norm",
)  # fmt: skip
PRESET_METRICS = ("stability_bound",)  # depend on the lr and config only, never on training
LEVEL_METRICS = (
    "clean_loss", "noisy_loss_mean", "delta_loss", "noise_trace", "predicted_delta_loss", "mean_delta_loss", "kink_delta_loss",
    "predicted_delta_loss_kink", "clean_acc", "noisy_acc_mean", "normalized_acc",
)  # fmt: skip


def per_lr(run_rows: list[dict[str, Any]], noise_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per learning rate, ascending: run counts, run metrics and per (noise model, level) noise
    metrics (mean, CI), ``levels`` sorted by noise model then η."""
    runs_by_lr: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for r in run_rows:
        runs_by_lr[r["lr"]].append(r)
    noise_by_lr: dict[float, dict[tuple[str, float], list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in noise_rows:
        noise_by_lr[r["lr"]][(str(r.get("noise_model") or "unnamed"), r["noise_level"])].append(r)
    out = []
    for lr in sorted(runs_by_lr):
        rows = runs_by_lr[lr]
        ok = [r for r in rows if r["status"] == "ok"]
        entry: dict[str, Any] = {"lr": lr, "runs": len(rows), "ok": len(ok), "diverged": len(rows) - len(ok)}
        entry.update({m: mean_ci([r.get(m) for r in (rows if m in PRESET_METRICS else ok)]) for m in RUN_METRICS})
        entry["levels"] = [
            {"noise_model": model, "noise_level": eta, **{m: mean_ci([r.get(m) for r in level_rows]) for m in LEVEL_METRICS}}
            for (model, eta), level_rows in sorted(noise_by_lr[lr].items())
        ]
        out.append(entry)
    return out
