"""Where the ΔL predictions are compared with the measurement (cells from
:mod:`empirical.analysis.predictions`): :data:`PREDICTIONS` names each, second order ½η² tr(HΣ₁),
fourth order ½η² tr(HΣ₁) + η⁴M/24 (``fourth_resolved`` where M's relative SE is ≤ :data:`RESOLVED`;
elsewhere the fourth-order term is below resolution and no comparison with the second order is made
on it), and second order + kink term.

- per (run, level): measured ΔL ± its Monte Carlo SE against the prediction ± its SE, ratio
  R = measured/predicted with the delta-method interval (:func:`~empirical.analysis.stats.compare`);
- per level across runs: median ratio, agreement shares, linear and log–log fits of measured on
  predicted; per (lr, level) with seeds pooled draw by draw (:mod:`~empirical.analysis.pooling`);
- the *breakdown level* of a prediction in a run, an equivalence test against the ±10% band
  (:mod:`~empirical.analysis.equivalence`): the largest η up to which agreement *holds* at every
  tested level, and what the next level says: it *fails* (a miss shown) or is *undetermined*.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable


from empirical.analysis.equivalence import HOLDS, OUTCOMES
from empirical.analysis.pooling import pooled
from empirical.analysis.stats import compare, finite, fraction, line_fit, median

RESOLVED = 0.5  # the fourth-order term is "resolved" in a run when its relative SE is at most this

#: analysis key of each prediction -> its cell key (``p2``: ½η² tr(HΣ₁), ``p4``: + η⁴M/24, ``pk``: + kink)
PREDICTIONS = {"second_order": "p2", "fourth_order": "p4", "with_kinks": "pk"}


def order_rows(cells: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The rows of a noise model's ``analysis[...][name]``, ``name`` a key of :data:`PREDICTIONS`: one per cell with
    the prediction, the fourth-order term or the kink term beside it."""
    key = PREDICTIONS[name]
    rows = []
    for c in cells:
        p, p_se = c[key], c[f"{key}_se"]
        if not math.isfinite(p):
            continue
        row = {"run_id": c["run_id"], "lr": c["lr"], "seed": c["seed"], "noise_level": c["noise_level"],
               "samples": c.get("samples", math.nan), "measured": c["delta_loss"],
               "measured_se": c.get("delta_loss_se", math.nan), "predicted": p, "predicted_se": p_se}  # fmt: skip
        if name == "fourth_order":
            m4, m4_se = c["fourth_moment_test"], c["fourth_moment_test_se"]
            rel = abs(m4_se / m4) if finite(m4, m4_se) and m4 else math.nan
            row.update(fourth_term=c["term4"], fourth_term_se=c["term4_se"], fourth_moment=m4,
                       fourth_moment_se=m4_se, fourth_moment_draws=c.get("fourth_moment_draws", math.nan),
                       fourth_rel_se=rel, fourth_resolved=bool(rel <= RESOLVED))  # fmt: skip
        elif name == "with_kinks":
            row.update(kink_term=c["kink"], kink_term_se=c["kink_se"])
        row.update(compare(c["delta_loss"], row["measured_se"], p, p_se))
        rows.append(row)
    return rows


def by_level(rows: Iterable[dict[str, Any]]) -> list[tuple[float, list[dict[str, Any]]]]:
    """Rows grouped by ``noise_level``, levels ascending."""
    groups: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["noise_level"]].append(r)
    return sorted(groups.items())


def level_fits(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per level across runs: linear and log–log fits of measured on predicted (one level at a time, so η²
    is no shared factor), median ratio, agreement, and how many rows' equivalence test holds, fails or
    is undetermined (``holds``, ``fails``, ``undetermined``; ``se_missing`` of them for want of an error).

    ``median_miss``: the median relative miss exp|log(m/p)| − 1; ``null_median_miss``: the same for the
    curvature-free null that predicts the level's median measured ΔL for every run (fitted in-sample,
    so it is favoured): the prediction adds information across runs only where it misses less."""
    out = []
    for eta, rs in by_level(rows):
        pairs = [(r["predicted"], r["measured"]) for r in rs if finite(r["predicted"], r["measured"])]
        positive = [(p, m) for p, m in pairs if p > 0 and m > 0]
        widths = [w for w in ((r["ratio_ci_high"] - r["ratio_ci_low"]) / 2 for r in rs) if math.isfinite(w)]
        null = median(m for _, m in pairs)  # curvature-free: one ΔL for every run, fitted in-sample
        lin = line_fit([p for p, _ in pairs], [m for _, m in pairs])
        log = line_fit([math.log(p) for p, _ in positive], [math.log(m) for _, m in positive])
        out.append({
            "noise_level": eta, "runs": len(rs), "median_ratio": median(r["ratio"] for r in rs),
            "within_10pct_fraction": fraction([r["within_10pct"] for r in rs]),
            "ci_contains_1_fraction": fraction([r["ci_contains_1"] for r in rs]),
            **{outcome: sum(r["equivalence"] == outcome for r in rs) for outcome in OUTCOMES},
            "se_missing": sum(r["se_missing"] for r in rs),
            "max_ci_half_width": max(widths, default=math.nan), "median_ci_half_width": median(widths),
            "median_miss": _miss(m / p for p, m in positive), "null_median_miss": _miss(m / null for _, m in positive),
            "linear_slope": lin["slope"], "linear_slope_se": lin["slope_se"], "linear_intercept": lin["intercept"],
            "linear_r2": lin["r2"], "loglog_slope": log["slope"], "loglog_slope_se": log["slope_se"],
            "loglog_intercept": log["intercept"], "loglog_r2": log["r2"], "loglog_runs": log["n"],
        })  # fmt: skip
    return out


def _miss(ratios: Iterable[float]) -> float:
    """Median of exp|log r| − 1 over the finite positive ratios; NaN if none."""
    return median(math.expm1(abs(math.log(r))) for r in ratios if math.isfinite(r) and r > 0)


def by_lr(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (lr, level), seeds pooled draw by draw (:func:`~empirical.analysis.pooling.pooled`): mean measured
    ΔL ± its error, and per prediction its mean ± error and the mean of the seeds' ratios with its interval."""
    groups: dict[tuple[float, float], list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        groups[(c["lr"], c["noise_level"])].append(c)
    out = []
    for (lr, eta), cs in sorted(groups.items()):
        second = pooled(cs, PREDICTIONS["second_order"])
        row: dict[str, Any] = {"lr": lr, "noise_level": eta, "seeds": len(cs), "pooling": second["pooling"],
                               "measured": second["measured"], "measured_se": second["measured_se"]}  # fmt: skip
        for name, key in PREDICTIONS.items():
            row[name] = _prediction_part(pooled(cs, key))
        out.append(row)
    return out


def _prediction_part(entry: dict[str, Any]) -> dict[str, Any]:
    """A pooled entry without what is the same for every prediction (counts, pooling, measured ΔL)."""
    return {k: v for k, v in entry.items() if k not in ("cells", "pairs", "pooling", "measured", "measured_se")}


def breakdown(levels: list[float], outcomes: list[str]) -> dict[str, Any]:
    """``holds_up_to``: the largest level such that the equivalence test holds at it and every smaller
    one (None if not at the first); ``next_level`` and ``next``: the first level where it does not and
    its outcome, fails or undetermined (None where it holds at every level)."""
    last = None
    for eta, outcome in sorted(zip(levels, outcomes)):
        if outcome != HOLDS:
            return {"holds_up_to": last, "next_level": eta, "next": outcome}
        last = eta
    return {"holds_up_to": last, "next_level": None, "next": None}


def breakdown_rows(rows: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per run: the :func:`breakdown` of each prediction, ``rows`` maps a name of :data:`PREDICTIONS` to
    its :func:`order_rows` (None where a run has no row of it)."""
    runs: dict[str, dict[str, Any]] = {}
    for kind, kind_rows in rows.items():
        per_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in kind_rows:
            per_run[r["run_id"]].append(r)
        for run_id, rs in per_run.items():
            entry = runs.setdefault(run_id, {"run_id": run_id, "lr": rs[0]["lr"], "seed": rs[0]["seed"],
                                             **{k: None for k in rows}})  # fmt: skip
            levels = [r["noise_level"] for r in rs]
            entry["levels_tested"] = sorted(levels)
            entry[kind] = breakdown(levels, [r["equivalence"] for r in rs])
    return sorted(runs.values(), key=lambda e: (e["lr"], e["seed"]))
