"""The sweet spot: per noise level, the learning rate the theory picks, the null's pick, and the measured best.

Candidates are the learning rates none of whose seeds diverged; values are seed means.

- ``predicted_lr``: argmin of clean loss + ½η² tr(HΣ₁) (``predicted_lr_kink``: + the kink term);
- ``null_lr``: argmin of the clean loss alone, the null predictor: the prediction shares the
  measured clean loss, which dominates at small η, so curvature adds information only where it
  picks better than this;
- ``measured_lr_loss``: argmin of the mean noisy loss (the optimum both predictors aim at);
  ``measured_lr_acc``: argmax of the mean noisy accuracy (reported, not predicted).

How much worse a pick is than the measured optimum, and the curvature's pick against the null's, is
a *paired* difference of noisy loss (:func:`paired_difference`): the same seeds, the same noise
draws, so what both lrs share cancels; never an overlap of two intervals.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from scipy import stats

from empirical.analysis.stats import num

SUMMARY_KEYS = ("noise_level", "measured_lr_acc", "measured_lr_loss", "predicted_lr", "predicted_lr_kink", "null_lr")
BETTER, WORSE, SAME, UNRESOLVED = "better", "worse", "same lr", "not resolved"


def paired_difference(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    """Noisy loss of lr ``a`` minus lr ``b`` (their cells at one level), over their common seeds.

    Per seed s and shared draw k the difference is δ_sk = (clean_a,s + d_a,sk) − (clean_b,s + d_b,sk).
    Its mean δ has two error sources: the seeds, sd_s(mean_k δ_sk)/√S, and the draws the seeds share,
    sd_k(mean_s δ_sk)/√K; both are added in quadrature (conservative: the draws' independent part is
    in both) and the interval is δ ± t_{S−1}·se. Without per-draw increases only the seeds' part is
    used. ``outcome``: :data:`BETTER` (interval below 0: ``a`` has the lower noisy loss), :data:`WORSE`,
    or :data:`UNRESOLVED`.
    """
    by_seed_a, by_seed_b = {c["seed"]: c for c in a}, {c["seed"]: c for c in b}
    seeds = sorted(set(by_seed_a) & set(by_seed_b))
    rows = [_per_draw(by_seed_a[s]) - _per_draw(by_seed_b[s]) for s in seeds]
    if len(rows) < 2 or len({len(r) for r in rows}) != 1:
        return {"difference": math.nan, "ci_low": math.nan, "ci_high": math.nan, "seeds": len(rows),
                "outcome": UNRESOLVED}  # fmt: skip
    d = np.stack(rows)  # (S, K)
    per_seed = d.mean(axis=1)
    se = per_seed.std(ddof=1) / math.sqrt(len(seeds))
    if d.shape[1] > 1:
        se = math.hypot(se, d.mean(axis=0).std(ddof=1) / math.sqrt(d.shape[1]))
    half = float(stats.t.ppf(0.975, len(seeds) - 1)) * se
    mean = float(per_seed.mean())
    outcome = BETTER if mean + half < 0 else WORSE if mean - half > 0 else UNRESOLVED
    return {"difference": mean, "ci_low": mean - half, "ci_high": mean + half, "seeds": len(seeds), "outcome": outcome}


def sweet_spots(run_rows: list[dict[str, Any]], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per level: the curvature's, the null's and the measured best lr, with paired noisy-loss differences."""
    unstable = {num(r["lr"]) for r in run_rows if r.get("status") != "ok"}
    levels: dict[float, dict[float, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for c in cells:
        if c["lr"] not in unstable:
            levels[c["noise_level"]][c["lr"]].append(c)
    return [_level(eta, lrs) for eta, lrs in sorted(levels.items())]


def summary_rows(spots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The point estimates of :func:`sweet_spots`."""
    return [{k: s[k] for k in SUMMARY_KEYS} for s in spots]


def _level(eta: float, lrs: dict[float, list[dict[str, Any]]]) -> dict[str, Any]:
    lr_list = sorted(lrs)

    def best(key: Any, sign: float = 1.0) -> float | None:
        values = np.array([np.mean([sign * key(c) for c in lrs[lr]]) for lr in lr_list])
        return lr_list[int(np.nanargmin(values))] if np.isfinite(values).any() else None

    row: dict[str, Any] = {
        "noise_level": eta, "lrs": len(lr_list), "seeds": min(len(v) for v in lrs.values()),
        "predicted_lr": best(lambda c: c.get("clean_loss", math.nan) + c["p2"]),
        "predicted_lr_kink": best(lambda c: c.get("clean_loss", math.nan) + c["pk"]),
        "null_lr": best(lambda c: c.get("clean_loss", math.nan)),
        "measured_lr_loss": best(lambda c: c.get("noisy_loss_mean", math.nan)),
        "measured_lr_acc": best(lambda c: c.get("noisy_acc_mean", math.nan), -1.0),
    }  # fmt: skip
    m = row["measured_lr_loss"]
    for name in ("predicted_lr", "predicted_lr_kink", "null_lr"):
        row[f"{name}_hit"] = row[name] is not None and row[name] == m
        row[f"{name}_regret"] = _compare(lrs, row[name], m)  # noisy loss above the measured optimum's
    row["curvature_vs_null"] = _compare(lrs, row["predicted_lr"], row["null_lr"])
    return row


def _compare(lrs: dict[float, list[dict[str, Any]]], a: float | None, b: float | None) -> dict[str, Any] | None:
    """:func:`paired_difference` of lr ``a`` against ``b``; exactly 0 (:data:`SAME`) when they are one lr."""
    if a is None or b is None:
        return None
    if a == b:
        return {"difference": 0.0, "ci_low": 0.0, "ci_high": 0.0, "seeds": len(lrs[a]), "outcome": SAME}
    return paired_difference(lrs[a], lrs[b])


def _per_draw(c: dict[str, Any]) -> np.ndarray:
    """Noisy loss per shared draw pair, clean + d_k (its mean alone without per-draw increases)."""
    d = c.get("pair_increase")
    clean = c.get("clean_loss", math.nan)
    return clean + (np.asarray(d, float) if d is not None else np.array([c.get("noisy_loss_mean", math.nan) - clean]))
