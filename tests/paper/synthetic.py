"""A small synthetic results folder in the contract format, for the paper's tests (and its check).

``write_results`` writes ``runs.csv``/``noise.csv`` with the sweep's own column lists and writer,
and ``summary.json`` with the sweep's own ``empirical.analysis.summarize``, so the folder stays in step
with what ``python -m empirical.hessian_sweep`` writes; the ``verification`` key follows
``docs/results.md``. Values follow smooth made-up laws (accuracy peaks at a middle lr, curvature
falls with lr, a kink term of 10% of ½η² tr(HΣ₁) for ReLU and 0 otherwise, ΔL ≈ (½η² tr(HΣ₁) +
kink)(1 + 3η)) plus seeded scatter; ``verification["by_lr"]`` is the real analysis of these rows.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from empirical import analysis
from empirical.sweep.store import NOISE_COLUMNS, RUNS_COLUMNS, write_csv, write_json

LRS = (0.01, 0.03, 0.1, 0.3)
SEEDS = (0, 1)
LEVELS = (0.02, 0.1, 0.3)
MOMENTUM = 0.9


def write_results(
    folder: Path,
    *,
    verification: bool = True,
    lrs: tuple[float, ...] = LRS,
    seeds: tuple[int, ...] = SEEDS,
    diverged: tuple[tuple[float, int], ...] = ((0.3, 1),),
    activation: str = "relu",
) -> Path:
    """Write the folder; ``diverged`` lists the (lr, seed) runs that diverged."""
    rng = np.random.default_rng(0)
    config = {
        "preset": "synthetic", "dataset": "mnist1d", "dataset_options": {"num_samples": 600}, "data_root": None,
        "model": "cnn1d", "activation": activation, "lrs": list(lrs), "seeds": list(seeds), "optimizer": "sgd",
        "momentum": MOMENTUM, "weight_decay": 0.0, "batch_size": 100, "epochs": 2, "augment": False,
        "divergence_factor": 10.0, "noise_model": "layer-relative", "noise_scope": "weights",
        "noise_levels": list(LEVELS), "samples": 8, "noise_seed": 0, "curvature_samples": 500,
        "curvature_seed": 0, "trace_rel_se": 0.05, "trace_max_matvecs": 40, "eval_batch_size": 2000,
    }  # fmt: skip
    runs, noise, second, fourth = [], [], [], []
    for lr in lrs:
        for seed in seeds:
            run_id = f"lr{lr:g}_seed{seed}"
            base = {"run_id": run_id, "lr": lr, "seed": seed}
            bound = 2 * (1 + MOMENTUM) / lr
            if (lr, seed) in diverged:
                runs.append({**base, "status": "diverged", "failure": "exploded", "epochs": 1, "stability_bound": bound, "train_seconds": 0.1})
                noise += [{**base, "noise_model": "layer-relative", "noise_level": eta} for eta in LEVELS]
                continue
            acc = 0.85 - 0.08 * (math.log10(lr) + 1.5) ** 2 + 0.01 * rng.standard_normal()
            trace = 40 / math.sqrt(lr) * (1 + 0.05 * rng.standard_normal())
            noise_trace = 0.3 * trace
            runs.append({
                **base, "status": "ok", "epochs": 2, "train_loss": 1 - acc, "train_acc": acc + 0.02,
                "test_loss": 1.1 - acc, "test_acc": acc, "hessian_trace_train": 1.1 * trace,
                "hessian_trace_train_se": 0.02 * trace, "hessian_trace_test": trace,
                "hessian_trace_test_se": 0.02 * trace, "noise_trace_test": noise_trace,
                "noise_trace_test_se": 0.02 * noise_trace, "lambda_max_train": min(0.8 * bound, 8 / lr**0.3),
                "lambda_max_residual": 0.3, "stability_bound": bound, "weight_norm": 5.0, "train_seconds": 1.0,
                "curvature_seconds": 1.0, "noise_seconds": 1.0,
            })  # fmt: skip
            for eta in LEVELS:
                predicted = 0.5 * eta**2 * noise_trace
                kink = 0.1 * predicted if activation == "relu" else 0.0
                measured = (predicted + kink) * (1 + 3 * eta) * (1 + 0.05 * rng.standard_normal())
                noisy_acc = acc * math.exp(-0.5 * measured)
                noise.append({
                    **base, "noise_model": "layer-relative", "noise_level": eta, "samples": 8,
                    "clean_loss": 1.1 - acc, "noisy_loss_mean": 1.1 - acc + measured, "delta_loss": measured,
                    "delta_loss_se": 0.05 * measured, "delta_loss_std": 0.14 * measured,
                    "predicted_delta_loss": predicted, "kink_delta_loss": kink, "kink_delta_loss_se": 0.05 * kink,
                    "predicted_delta_loss_kink": predicted + kink, "clean_acc": acc, "noisy_acc_mean": noisy_acc,
                    "noisy_acc_std": 0.01, "noisy_acc_se": 0.004, "normalized_acc": noisy_acc / acc,
                })  # fmt: skip
                check = {**base, "noise_level": eta, "measured": measured, "measured_se": 0.05 * measured,
                         "predicted_se": 0.02 * predicted}  # fmt: skip
                for rows, pred in ((second, predicted), (fourth, predicted * (1 + 3 * eta))):
                    ratio = measured / pred
                    rows.append({**check, "predicted": pred, "ratio": ratio,
                                 "ratio_ci_low": 0.9 * ratio, "ratio_ci_high": 1.1 * ratio})  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    environment = {"torch": "2.13.0", "git_commit": "0" * 40}
    write_json(folder / "config.json", {"sweep": config, "environment": environment, "device": "cpu"})
    write_csv(folder / "runs.csv", runs, RUNS_COLUMNS)
    write_csv(folder / "noise.csv", noise, NOISE_COLUMNS)
    result: dict[str, Any] = analysis.summarize(config, runs, noise)
    by_lr = result.pop("verification")["by_lr"]  # the rest made up below (or none)
    if verification:
        result["verification"] = {
            "by_lr": by_lr,
            "second_order": second,
            "fourth_order": fourth,
            "sweet_spot": result["sweet_spot"],
            "spearman": [
                {"noise_level": eta, "curvature": c, "target": t, "rho": 0.8, "ci_low": 0.5, "ci_high": 0.95}
                for eta in LEVELS for c in ("trace", "noise_trace") for t in ("delta_loss", "acc_drop")
            ],  # fmt: skip
        }
    write_json(folder / "summary.json", result)
    return folder
