"""How much of the second-order miss the kink term explains (a noise model's ``kinks`` in ``summary.json["analysis"]``).

A piecewise-linear (ReLU) network's Hessian is zero across its activation kinks, which the noise
feels; the kink term (``kink_delta_loss``, ``empirical.curvature.kink_term``) predicts what they
add. Compared at small noise, η ≤ :data:`~empirical.analysis.requirement.SMALL_NOISE`, where the
higher orders are negligible: per learning rate (its seeds and small levels pooled draw by draw,
:mod:`~empirical.analysis.pooling`) and over all runs per level, the ratio measured/predicted
without the kink term (R₂) and with it (R₂₊ₖ), their 95% intervals and their misses |R − 1|; over
the (run, level) cells at small noise, the median ratio and how many intervals contain 1.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from empirical.analysis.orders import PREDICTIONS
from empirical.analysis.pooling import pooled
from empirical.analysis.requirement import SMALL_NOISE
from empirical.analysis.stats import median

COMPARED = ("second_order", "with_kinks")


def kink_summary(cells: list[dict[str, Any]], rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The ``kinks`` entry from the cells and ``rows``, the :func:`~empirical.analysis.orders.order_rows`
    of each name in :data:`COMPARED`. ``state`` is ``"measured"``, ``"zero"`` (no kinked activation: the
    term is exactly 0 in every cell) or ``"absent"`` (results without the kink term)."""
    measured = [c for c in cells if math.isfinite(c["kink"])]
    state = "absent" if not measured else "zero" if all(c["kink"] == 0 for c in measured) else "measured"
    small = [c for c in measured if c["noise_level"] <= SMALL_NOISE]
    per_lr: dict[float, list[dict[str, Any]]] = defaultdict(list)
    per_level: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for c in small:
        per_lr[c["lr"]].append(c)
    for c in measured:
        per_level[c["noise_level"]].append(c)
    lrs = [{"lr": lr, "seeds": len({c["seed"] for c in cs}), **_compared(cs)} for lr, cs in sorted(per_lr.items())]
    return {
        "state": state,
        "max_noise_level": SMALL_NOISE,
        "pooling": pooled(cells, PREDICTIONS["second_order"])["pooling"],
        "per_lr": lrs,
        "all_runs": [{"noise_level": eta, "runs": len(cs), **_compared(cs)} for eta, cs in sorted(per_level.items())],
        "small_cells": {name: _small(rows[name]) for name in COMPARED},
        "median_kink_share": median(c["kink"] / c["pk"] for c in small if c["pk"] > 0),
    }


def _compared(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled ratios of both predictions over ``cells``, with their misses |R − 1|."""
    entries = {name: pooled(cells, PREDICTIONS[name]) for name in COMPARED}
    second = entries["second_order"]
    out: dict[str, Any] = {"levels": sorted({c["noise_level"] for c in cells}), "pooling": second["pooling"],
                           "pairs": second["pairs"]}  # fmt: skip
    for name, e in entries.items():
        out[name] = {k: e[k] for k in ("ratio", "ratio_se", "ratio_ci_low", "ratio_ci_high", "ci_contains_1",
                                       "within_10pct", "equivalence", "se_missing")}  # fmt: skip
        out[name]["miss"] = abs(e["ratio"] - 1)
    return out


def _small(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Over the (run, level) rows at η ≤ SMALL_NOISE: their count, median ratio, and how many ratio
    intervals contain 1."""
    small = [r for r in rows if r["noise_level"] <= SMALL_NOISE]
    return {"cells": len(small), "median_ratio": median(r["ratio"] for r in small),
            "ci_contains_1": sum(r["ci_contains_1"] for r in small)}  # fmt: skip
