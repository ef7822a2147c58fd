"""The sweet spot: per noise level, the learning rate the theory picks against the measured best ones.

Predicted: argmin over lr of the seed mean of clean loss + ½η² tr(HΣ₁) (``predicted_lr``; with
the fourth-order term, ``predicted_lr_fourth``; with the kink term, the best available prediction
for a piecewise-linear network, ``predicted_lr_kink``, and its grid steps ``steps_<target>_kink``).
Measured: argmin of the mean noisy loss
(``measured_lr_loss``) and argmax of the mean noisy accuracy (``measured_lr_acc``). Candidates are
the learning rates none of whose seeds diverged. How far apart prediction and measurement sit is
counted in steps of the swept lr grid, over a bootstrap that resamples seeds within each lr and
over single seeds. This one computation fills ``summary.json["sweet_spot"]`` (point estimates,
:data:`SUMMARY_KEYS`) and ``summary.json["verification"]["sweet_spot"]`` (everything).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from empirical.analysis.stats import Bootstrap, fraction, num

SUMMARY_KEYS = ("noise_level", "measured_lr_acc", "measured_lr_loss", "predicted_lr", "predicted_lr_kink")
_TARGETS = (("loss", 3), ("acc", 4))  # target -> column of the values below


def sweet_spots(run_rows: list[dict[str, Any]], cells: list[dict[str, Any]], boot: Bootstrap) -> list[dict[str, Any]]:
    """Per level: predicted vs measured best lr, and how often they coincide or sit one grid step apart."""
    grid = sorted({num(r["lr"]) for r in run_rows})
    unstable = {num(r["lr"]) for r in run_rows if r.get("status") != "ok"}
    levels: dict[float, dict[float, dict[int, list[float]]]] = defaultdict(lambda: defaultdict(dict))
    for c in cells:
        if c["lr"] not in unstable:  # columns: predicted (2nd, 4th order, kinks), noisy loss, −accuracy; minimised
            clean, noisy = c.get("clean_loss", math.nan), c.get("noisy_loss_mean", math.nan)
            values = [clean + c["p2"], clean + c["p4"], clean + c["pk"], noisy, -c.get("noisy_acc_mean", math.nan)]
            levels[c["noise_level"]][c["lr"]][c["seed"]] = values
    return [_level(eta, lrs, grid, boot) for eta, lrs in sorted(levels.items())]


def summary_rows(spots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The point estimates of :func:`sweet_spots` (``summary.json["sweet_spot"]``)."""
    return [{k: s[k] for k in SUMMARY_KEYS} for s in spots]


def _level(eta: float, lrs: dict[float, dict[int, list[float]]], grid: list[float], boot: Bootstrap) -> dict[str, Any]:
    """One level's row; ``lrs[lr][seed]`` holds the five values (see :func:`sweet_spots`)."""
    lr_list = sorted(lrs)
    step = np.array([grid.index(lr) for lr in lr_list])
    per_lr = [np.asarray(list(lrs[lr].values()), float) for lr in lr_list]
    point = np.stack([v.mean(axis=0) for v in per_lr])  # (n_lr, 5)

    def best(values: np.ndarray) -> float | None:  # values (n_lr,)
        return lr_list[int(np.nanargmin(values))] if np.isfinite(values).any() else None

    row: dict[str, Any] = {
        "noise_level": eta, "lrs": len(lr_list),
        "predicted_lr": best(point[:, 0]), "predicted_lr_fourth": best(point[:, 1]),
        "predicted_lr_kink": best(point[:, 2]), "measured_lr_loss": best(point[:, 3]),
        "measured_lr_acc": best(point[:, 4]),
    }  # fmt: skip
    for target, _ in _TARGETS:
        m = row[f"measured_lr_{target}"]
        for suffix, p in (("", row["predicted_lr"]), ("_kink", row["predicted_lr_kink"])):
            row[f"steps_{target}{suffix}"] = grid.index(p) - grid.index(m) if p is not None and m is not None else None
    boots = boot.means(per_lr) if np.isfinite(point[:, [0, 3, 4]]).all() else None
    seeds = sorted(set.intersection(*(set(lrs[lr]) for lr in lr_list)))
    single = [np.asarray([lrs[lr][s] for lr in lr_list], float) for s in seeds]
    for target, col in _TARGETS:
        if boots is not None:
            d = step[np.argmin(boots[:, :, 0], axis=1)] - step[np.argmin(boots[:, :, col], axis=1)]
            row[f"bootstrap_coincide_{target}"] = float(np.mean(d == 0))
            row[f"bootstrap_within_one_step_{target}"] = float(np.mean(np.abs(d) <= 1))
        else:
            row[f"bootstrap_coincide_{target}"] = row[f"bootstrap_within_one_step_{target}"] = math.nan
        d_seed = [step[np.argmin(v[:, 0])] - step[np.argmin(v[:, col])] for v in single
                  if np.isfinite(v[:, [0, col]]).all()]  # fmt: skip
        row[f"seeds_coincide_{target}"] = fraction([d == 0 for d in d_seed])
        row[f"seeds_within_one_step_{target}"] = fraction([abs(d) <= 1 for d in d_seed])
    row.update(seeds=len(single), bootstrap=boot.reps if boots is not None else 0)
    return row
