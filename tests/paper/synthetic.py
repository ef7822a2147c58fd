"""A small synthetic results folder in the contract format, for the paper's tests (and its check).

``write_results`` writes ``runs.csv``/``noise.csv`` with the sweep's own column lists and writer,
and ``summary.json`` with the sweep's own ``empirical.analysis.summarize`` (its ``analysis`` block is
the real analysis of these rows), so the folder stays in step with what ``python -m
empirical.hessian_sweep`` writes. Values follow smooth made-up laws (accuracy peaks at a middle lr,
curvature falls with lr, a kink term of 10% of ½η² tr(HΣ₁) for ReLU and 0 otherwise, ΔL ≈
(½η² tr(HΣ₁) + kink)(1 + 3η)) plus seeded scatter.

Optional extras, each analysed by the same ``summarize``: a second noise model (``additive``, with tr(H) ∝
lr^``additive``, levels :data:`ADDITIVE_LEVELS`), per-layer rows (``layers``: names; layer i carries a share
∝ i + 1 of ½η² tr(HΣ₁) at :data:`LAYER_LEVELS`, written to ``layers.csv``) and a timed model (``pcm``: ΔL at
the inference times :data:`TIMES`, a mean term that shrinks with time and a variance term that grows).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from empirical import analysis
from empirical.sweep.store import LAYER_COLUMNS, NOISE_COLUMNS, RUNS_COLUMNS, write_csv, write_json

LRS = (0.01, 0.03, 0.1, 0.3)
SEEDS = (0, 1)
LEVELS = (0.02, 0.1, 0.3)
MOMENTUM = 0.9
ADDITIVE_LEVELS = (0.01, 0.03)
LAYER_LEVELS = (0.02, 0.1)
TIMES = (1.0, 3600.0, 86400.0, 2592000.0)


def write_results(
    folder: Path,
    *,
    with_analysis: bool = True,
    lrs: tuple[float, ...] = LRS,
    seeds: tuple[int, ...] = SEEDS,
    diverged: tuple[tuple[float, int], ...] = ((0.3, 1),),
    activation: str = "relu",
    additive: float | None = None,
    layers: tuple[str, ...] = (),
    pcm: bool = False,
) -> Path:
    """Write the folder; ``diverged`` lists the (lr, seed) runs that diverged; without ``with_analysis``,
    summary.json lacks its analysis block; ``additive``, ``layers`` and ``pcm`` add the extras of the
    module docstring."""
    rng = np.random.default_rng(0)
    config = {
        "preset": "synthetic", "dataset": "mnist1d", "dataset_options": {"num_samples": 600}, "data_root": None,
        "model": "cnn1d", "activation": activation, "lrs": list(lrs), "seeds": list(seeds), "optimizer": "sgd",
        "momentum": MOMENTUM, "weight_decay": 0.0, "batch_size": 100, "epochs": 2, "augment": False,
        "divergence_factor": 10.0, "noise_model": "layer-relative", "noise_scope": "weights",
        "noise_levels": list(LEVELS), "samples": 8, "noise_seed": 0, "curvature_samples": 500,
        "curvature_seed": 0, "trace_rel_se": 0.05, "trace_max_matvecs": 40, "eval_batch_size": 2000,
    }  # fmt: skip
    if additive is not None:
        config["extra_noise_models"] = {"additive": list(ADDITIVE_LEVELS)}
    if layers:
        config.update(layer_levels=list(LAYER_LEVELS), layer_seeds=list(seeds), layer_samples=8)
    runs, noise, layer_rows = [], [], []
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
            clean = {"clean_loss": 1.1 - acc, "clean_acc": acc}
            if additive is not None:
                noise += _extra_rows(base, clean, "additive", ADDITIVE_LEVELS, 30 * lr**additive, 0.0, rng)
            if pcm:
                noise += _extra_rows(base, clean, "pcm", TIMES, 0.01, lr, rng)
            for eta in LEVELS if layers else ():
                if eta not in LAYER_LEVELS:
                    continue
                for i, name in enumerate(layers):
                    share = (i + 1) / (len(layers) * (len(layers) + 1) / 2)
                    predicted = share * 0.5 * eta**2 * noise_trace
                    measured = predicted * (1 + 3 * eta) * (1 + 0.05 * rng.standard_normal())
                    layer_rows.append({**base, "noise_model": "layer-relative", "layer": name, "noise_level": eta,
                                       "predicted": predicted, "predicted_se": 0.02 * predicted, "measured": measured,
                                       "measured_se": 0.05 * measured})  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    environment = {"torch": "2.13.0", "git_commit": "0" * 40}
    write_json(folder / "config.json", {"sweep": config, "environment": environment, "device": "cpu"})
    write_csv(folder / "runs.csv", runs, RUNS_COLUMNS)
    write_csv(folder / "noise.csv", noise, NOISE_COLUMNS)
    if layers:
        write_csv(folder / "layers.csv", layer_rows, LAYER_COLUMNS)
    result: dict[str, Any] = analysis.summarize(config, runs, noise, layer_rows=layer_rows or None, bootstrap=50)
    if not with_analysis:
        del result["analysis"]
    write_json(folder / "summary.json", result)
    return folder


def _extra_rows(base: dict[str, Any], clean: dict[str, float], model: str, levels: tuple[float, ...], trace: float,
                lr: float, rng: np.random.Generator) -> list[dict[str, Any]]:  # fmt: skip
    """Noise rows of another model: ΔL ≈ ½η² ``trace``, or for ``pcm`` (levels in seconds) a mean term
    0.01·√lr/(1 + log10 t) plus a variance term 0.002·lr·(1 + log10 t)."""
    rows = []
    for level in levels:
        mean = 0.01 * math.sqrt(lr) / (1 + math.log10(level)) if model == "pcm" else 0.0
        predicted = mean + (0.002 * lr * (1 + math.log10(level)) if model == "pcm" else 0.5 * level**2 * trace)
        measured = predicted * (1 + 0.05 * rng.standard_normal())
        noisy_acc = clean["clean_acc"] * math.exp(-0.5 * measured)
        rows.append({
            **base, "noise_model": model, "noise_level": level, "samples": 8, **clean,
            "noisy_loss_mean": clean["clean_loss"] + measured, "delta_loss": measured, "delta_loss_se": 0.05 * measured,
            "delta_loss_std": 0.14 * measured, "predicted_delta_loss": predicted,
            "predicted_delta_loss_se": 0.01 * predicted, "noise_trace": trace, "noise_trace_se": 0.02 * trace,
            "mean_delta_loss": mean if model == "pcm" else None, "noisy_acc_mean": noisy_acc, "noisy_acc_std": 0.01,
            "noisy_acc_se": 0.004, "normalized_acc": noisy_acc / clean["clean_acc"],
            **({"inference_seconds": level} if model == "pcm" else {}),
        })  # fmt: skip
    return rows
