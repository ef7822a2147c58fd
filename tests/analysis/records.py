"""Inputs for the analysis tests: a synthetic sweep's run records, a results folder from them, and a
quadratic loss where E[ΔL] = ½η² tr(AΣ₁) exactly."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from empirical.curvature import fourth_moment
from empirical.sweep import store
from empirical.sweep.store import NOISE_COLUMNS, RUNS_COLUMNS

F64 = torch.float64
LRS = (0.01, 0.03, 0.1, 0.3)
SEEDS = (0, 1, 2)
LEVELS = (0.01, 0.05, 0.2)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def common_draws(pairs: int) -> np.ndarray:
    """u_k, k < pairs: fixed standardised draws (mean exactly 0, sd exactly 1), the same for every run."""
    u = np.random.default_rng(7).standard_normal(pairs)
    return (u - u.mean()) / u.std(ddof=1)


def synthetic_records(kink_share: float = 0.0, pairs: int | None = None) -> list[dict[str, Any]]:
    """Run records of a 4-lr × 3-seed sweep plus one diverged run (lr 1); numbers shaped like the real ones.

    tr(HΣ₁) grows with lr and ΔL follows it (with a fourth-order term); tr(H) falls with lr, so the
    Spearman correlations are +1 (noise trace) and −1 (trace); noisy accuracy peaks at lr 0.03.
    The kink term is ``kink_share`` × (1 − i) × ½η² tr(HΣ₁) at the i-th lr (positive at the smallest
    lr, negative at the largest, 0 by default), and ΔL holds it. With ``pairs``, each noise row has
    ``pair_increase``: d_k = ΔL (1 + 0.3 u_k) with the common draws u_k (:func:`common_draws`), so
    that the Monte Carlo SE is 0.3 ΔL/√pairs and every run's fluctuation is the same.
    """
    records = []
    for i, lr in enumerate(LRS):
        for seed in SEEDS:
            run_id = f"lr{lr:g}_seed{seed}"
            nt, tr, m4 = 5.0 + 4 * i + 0.1 * seed, 80.0 - 10 * i - 0.1 * seed, 500.0 * (i + 1)
            clean_loss, clean_acc = 0.30 - 0.02 * i + 0.001 * seed, 0.90 + 0.01 * i
            metrics = {
                "run_id": run_id, "lr": lr, "seed": seed, "status": "ok", "epochs": 20,
                "train_loss": 0.1, "train_acc": 0.97, "test_loss": clean_loss, "test_acc": clean_acc,
                "hessian_trace_train": tr, "hessian_trace_train_se": 0.5, "hessian_trace_test": tr,
                "hessian_trace_test_se": 0.5, "noise_trace_test": nt, "noise_trace_test_se": 0.05 * (1 + i),
                "lambda_max_train": 10.0, "lambda_max_residual": 0.01, "stability_bound": 3.8 / lr,
                "weight_norm": 10.0 + i, "train_seconds": 1.0, "curvature_seconds": 1.0, "noise_seconds": 1.0,
                "fourth_moment_test": m4, "fourth_moment_test_se": 0.3 * m4, "fourth_moment_draws": 6,
                "grad_cov_grad_test": 0.05 + 0.01 * i, "hsigma_sq_trace_test": 6.0, "hsigma_sq_trace_test_se": 1.0,
                "fourth_order_seconds": 0.5, "variance_terms_seconds": 0.5,
            }  # fmt: skip
            noise_rows = []
            for eta in LEVELS:
                kink = kink_share * (1 - i) * 0.5 * eta**2 * nt
                dl = 0.5 * eta**2 * nt * (1 + 0.02 * seed) + kink + eta**4 * m4 / 24
                se = 0.3 * dl / math.sqrt(pairs) if pairs else 0.03 * dl
                std = math.sqrt(eta**2 * metrics["grad_cov_grad_test"] + 0.5 * eta**4 * 6.0) * (1 + 0.03 * seed)
                acc = 0.8 + (0.05 if i == 1 else 0.0) - 0.1 * eta * i - 0.001 * seed
                noise_rows.append({
                    "run_id": run_id, "lr": lr, "seed": seed, "noise_model": "layer-relative", "noise_level": eta,
                    "samples": 64, "clean_loss": clean_loss, "noisy_loss_mean": clean_loss + dl, "delta_loss": dl,
                    "delta_loss_se": se, "delta_loss_std": std, "predicted_delta_loss": 0.5 * eta**2 * nt,
                    "kink_delta_loss": kink, "kink_delta_loss_se": 0.05 * abs(kink),
                    "predicted_delta_loss_kink": 0.5 * eta**2 * nt + kink, "clean_acc": clean_acc,
                    "noisy_acc_mean": acc, "noisy_acc_std": 0.01, "noisy_acc_se": 0.001,
                    "normalized_acc": acc / clean_acc,
                })  # fmt: skip
                if pairs:
                    noise_rows[-1]["pair_increase"] = (dl * (1 + 0.3 * common_draws(pairs))).tolist()
            records.append({"run_id": run_id, "status": "ok", "lr": lr, "seed": seed, "config": {"activation": "relu"},
                            "metrics": metrics, "noise": noise_rows})  # fmt: skip
    diverged = {"run_id": "lr1_seed0", "lr": 1.0, "seed": 0, "status": "diverged", "epochs": 3,
                "test_loss": math.nan, "test_acc": 0.1, "stability_bound": 3.8}  # fmt: skip
    records.append({"run_id": "lr1_seed0", "status": "diverged", "lr": 1.0, "seed": 0, "config": {"activation": "relu"},
                    "metrics": diverged,
                    "noise": [{"noise_level": eta, "run_id": "lr1_seed0", "lr": 1.0, "seed": 0,
                               "noise_model": "layer-relative"}
                              for eta in LEVELS]})  # fmt: skip
    return records


def rows(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(runs.csv rows, noise.csv rows) of the records."""
    return store.run_rows(records), store.noise_rows(records)


def write_folder(out: Path, records: list[dict[str, Any]]) -> Path:
    """A results folder as the sweep writes it: run records, both CSVs, config.json naming the activation."""
    for r in records:
        store.write_json(out / "runs" / r["run_id"] / "run.json", r)
    store.write_csv(out / "runs.csv", store.run_rows(records), RUNS_COLUMNS)
    store.write_csv(out / "noise.csv", store.noise_rows(records), NOISE_COLUMNS)
    store.write_json(out / "config.json", {"sweep": {"activation": "relu"}})
    return out


@dataclass(frozen=True)
class Quadratic:
    """L(w) = gᵀw + ½ wᵀAw around w = 0 with noise scale s (Σ₁ = diag(s²)); one run's rows."""

    A: torch.Tensor
    s: torch.Tensor
    run: dict[str, Any]
    noise_rows: list[dict[str, Any]]


@functools.cache
def quadratic(levels: tuple[float, ...] = (0.01, 0.1, 1.0), d: int = 30, draws: int = 5000) -> Quadratic:
    """The run row (tr(AΣ₁) by Hutchinson with its SE, as the sweep estimates it; M, gᵀΣ₁g and
    tr((AΣ₁)²) exact) and per level the Monte Carlo ΔL over antithetic pairs, as the sweep measures it.
    Each level draws its own noise (seed 4 + its index): on a quadratic ΔL/η² is the same at every
    level, so shared draws would repeat one check; independent ones make each level a new one.

    Cached (M takes seconds on first use): read the result, do not modify it."""
    g_ = gen(1)
    B = torch.randn(d, d, generator=g_, dtype=F64)
    A, g = B @ B.T / d, 0.2 * torch.randn(d, generator=g_, dtype=F64)
    s = 0.5 + torch.rand(d, generator=g_, dtype=F64)
    loss = lambda u: u @ g + 0.5 * ((u @ A) * u).sum(-1)  # noqa: E731
    S_A_S = s[:, None] * A * s[None, :]
    probes = torch.randint(0, 2, (200, d), generator=gen(2)).to(F64) * 2 - 1
    samples = ((probes @ S_A_S) * probes).sum(1)
    trace, trace_se = float(samples.mean()), float(samples.std() / math.sqrt(len(samples)))
    m4 = fourth_moment(lambda p: loss(p["w"]), {"w": torch.zeros(d, dtype=F64)}, {"w": s}, draws=4, generator=gen(3))
    run = {"run_id": "q", "lr": 0.1, "seed": 0, "status": "ok", "noise_trace_test": trace,
           "noise_trace_test_se": trace_se, "fourth_moment_test": m4.value, "fourth_moment_test_se": m4.se,
           "grad_cov_grad_test": float((g * s).square().sum()), "hsigma_sq_trace_test": float(S_A_S.square().sum()),
           "hsigma_sq_trace_test_se": 0.0, "hessian_trace_test": float(A.trace())}  # fmt: skip
    noise_rows = []
    w0 = torch.zeros(d, dtype=F64)
    for i, eta in enumerate(levels):
        e = eta * s * torch.randn(draws, d, generator=gen(4 + i), dtype=F64)
        plus, minus = loss(w0 + e), loss(w0 - e)
        pair = (plus + minus) / 2 - loss(w0)
        noise_rows.append({"run_id": "q", "lr": 0.1, "seed": 0, "noise_level": eta, "samples": 2 * draws,
                           "delta_loss": float(pair.mean()), "delta_loss_se": float(pair.std() / math.sqrt(draws)),
                           "delta_loss_std": float(torch.cat([plus, minus]).std()), "clean_loss": 0.0,
                           "noisy_loss_mean": float(pair.mean()), "clean_acc": 1.0, "noisy_acc_mean": 1.0})  # fmt: skip
    return Quadratic(A, s, run, noise_rows)
