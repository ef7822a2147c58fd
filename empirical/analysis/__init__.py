"""Analysis of a sweep's results: does the theory predict the measurement? Pure: nothing is trained.

:func:`summarize` turns the rows of ``runs.csv`` and ``noise.csv`` (or of the run records) into
the whole ``summary.json``; :func:`report` prints it. Everything is on the test split, ΔL is mean
cross-entropy (nats), every interval is 95%. One module per job:

- :mod:`~empirical.analysis.aggregate`: per-lr means and t-intervals over seeds;
- :mod:`~empirical.analysis.predictions`: the theory's predictions per (run, noise level);
- :mod:`~empirical.analysis.orders`: the ΔL predictions (second order, fourth order, second order + kink
  term) against the measurement, per run and per lr;
- :mod:`~empirical.analysis.pooling`: ratios pooled over runs and levels that share their noise draws;
- :mod:`~empirical.analysis.kinks`: how much of the second-order miss the kink term explains;
- :mod:`~empirical.analysis.spread`: the spread of ΔL across noise draws against its prediction;
- :mod:`~empirical.analysis.ranking`: which curvature, tr(H) or tr(HΣ₁), ranks the damage (Spearman);
- :mod:`~empirical.analysis.sweet_spot`: the predicted against the measured best learning rate;
- :mod:`~empirical.analysis.requirement`: whether the ratio intervals are narrow enough at small η;
- :mod:`~empirical.analysis.verdict` and :mod:`~empirical.analysis.tables`: the text;
- :mod:`~empirical.analysis.load`: reading a results folder; :mod:`~empirical.analysis.stats`: the statistics.

A piecewise-linear (ReLU) network's Hessian misses the curvature at its activation kinks, which
Gaussian noise feels at second order in η; the kink term predicts it, and the verification
measures how much of the second-order miss it explains.
"""

from __future__ import annotations

from typing import Any

from empirical.analysis import aggregate, kinks, orders, ranking, requirement, spread, sweet_spot, tables
from empirical.analysis.predictions import cells
from empirical.analysis.stats import WITHIN, Bootstrap
from empirical.analysis.verdict import verdict

BOOTSTRAP = 2000  # default bootstrap replicates over seeds


def summarize(
    config: dict[str, Any],
    run_rows: list[dict[str, Any]],
    noise_rows: list[dict[str, Any]],
    *,
    activation: str | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """The contents of ``summary.json``: counts, per-lr aggregates, sweet spot, agreement, verification.

    ``config`` is the resolved sweep config (its ``preset`` is recorded); ``activation`` names the
    network's activation (recorded); ``bootstrap`` replicates seeded by
    ``seed`` drive the resampling (deterministic for a given seed).
    """
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 1:
        raise ValueError(f"bootstrap must be an int >= 1. Got {bootstrap!r}.")
    v = _verification(run_rows, noise_rows, activation, bootstrap, seed)
    return {
        "preset": config.get("preset"),
        "runs": len(run_rows),
        "diverged": sum(r["status"] != "ok" for r in run_rows),
        "per_lr": aggregate.per_lr(run_rows, noise_rows),
        "sweet_spot": sweet_spot.summary_rows(v["sweet_spot"]),
        "agreement": orders.agreement(v["second_order"]),
        "verification": v,
    }


def _verification(
    run_rows: list[dict[str, Any]], noise_rows: list[dict[str, Any]], activation: str | None, bootstrap: int, seed: int
) -> dict[str, Any]:
    """``summary.json["verification"]``."""
    joined = cells(run_rows, noise_rows)
    boot = Bootstrap(bootstrap, seed)
    rows = {name: orders.order_rows(joined, name) for name in orders.PREDICTIONS}
    variance = spread.variance_rows(joined)
    v: dict[str, Any] = {
        "method": {
            "confidence": 0.95, "ratio": "measured / predicted ΔL; delta-method interval",
            "pooled_ratio": "mean over runs of d_k/predicted per shared noise draw k, SE over draws; prediction "
                            "errors added as fully correlated across runs (independent runs without per-draw data)",
            "within": WITHIN, "bootstrap": bootstrap, "bootstrap_seed": seed, "split": "test",
            "trace": ranking.CURVATURES["trace"], "noise_trace": ranking.CURVATURES["noise_trace"],
        },  # fmt: skip
        "activation": activation,
        "runs": len({c["run_id"] for c in joined}),
    }
    for name, name_rows in rows.items():
        v[name], v[f"{name}_fit"] = name_rows, orders.level_fits(name_rows)
    v.update({
        "by_lr": orders.by_lr(joined),
        "breakdown": orders.breakdown_rows(rows),
        "kinks": kinks.kink_summary(joined, rows),
        "variance": variance,
        "variance_fit": spread.variance_fit(variance),
        "spearman": ranking.spearman(joined, boot),  # before the sweet spot: both draw from one generator
        "sweet_spot": sweet_spot.sweet_spots(run_rows, joined, boot),
        "ci_requirement": requirement.ci_requirement(rows["second_order"]),
    })  # fmt: skip
    v["verdict"] = verdict(v)
    return v


def report(summary: dict[str, Any]) -> str:
    """The printed text of a :func:`summarize` result: per-lr tables, verification tables, verdict."""
    return tables.per_lr(summary) + "\n\n" + tables.verification(summary["verification"])
