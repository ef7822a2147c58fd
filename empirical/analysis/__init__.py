"""Analysis of a sweep's results: does the theory predict the measurement? Pure: nothing is trained.

:func:`summarize` turns the rows of ``runs.csv`` and ``noise.csv`` (or of the run records) into
the whole ``summary.json``; :func:`report` prints it. Everything is on the test split, ΔL is mean
cross-entropy (nats), every interval is 95%. One module per job:

- :mod:`~empirical.analysis.aggregate`: per-lr means and t-intervals over seeds;
- :mod:`~empirical.analysis.predictions`: the theory's predictions per (run, noise level);
- :mod:`~empirical.analysis.orders`: second- and fourth-order ΔL predictions against the measurement;
- :mod:`~empirical.analysis.spread`: the spread of ΔL across noise draws against its prediction;
- :mod:`~empirical.analysis.ranking`: which curvature, tr(H) or tr(HΣ₁), ranks the damage (Spearman);
- :mod:`~empirical.analysis.sweet_spot`: the predicted against the measured best learning rate;
- :mod:`~empirical.analysis.requirement`: whether the ratio intervals are narrow enough at small η;
- :mod:`~empirical.analysis.verdict` and :mod:`~empirical.analysis.tables`: the text;
- :mod:`~empirical.analysis.load`: reading a results folder; :mod:`~empirical.analysis.stats`: the statistics.

Caveat: a piecewise-linear (ReLU) network's Hessian misses the curvature at activation kinks,
which Gaussian noise feels; a second-order ratio away from 1 even at the smallest η is then
expected from the kinks, not from higher-order terms, and D⁴L misses them too.
"""

from __future__ import annotations

from typing import Any

from empirical.analysis import aggregate, orders, ranking, requirement, spread, sweet_spot, tables
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
    network's activation (a caveat for piecewise-linear ones); ``bootstrap`` replicates seeded by
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
    second, fourth = orders.order_rows(joined, 2), orders.order_rows(joined, 4)
    variance = spread.variance_rows(joined)
    v: dict[str, Any] = {
        "method": {
            "confidence": 0.95, "ratio": "measured / predicted ΔL; delta-method interval",
            "within": WITHIN, "bootstrap": bootstrap, "bootstrap_seed": seed, "split": "test",
            "trace": ranking.CURVATURES["trace"], "noise_trace": ranking.CURVATURES["noise_trace"],
        },  # fmt: skip
        "activation": activation,
        "runs": len({c["run_id"] for c in joined}),
        "second_order": second,
        "second_order_fit": orders.level_fits(second),
        "fourth_order": fourth,
        "fourth_order_fit": orders.level_fits(fourth),
        "by_lr": orders.by_lr(joined),
        "breakdown": orders.breakdown_rows(second, fourth),
        "variance": variance,
        "variance_fit": spread.variance_fit(variance),
        "spearman": ranking.spearman(joined, boot),  # before the sweet spot: both draw from one generator
        "sweet_spot": sweet_spot.sweet_spots(run_rows, joined, boot),
        "ci_requirement": requirement.ci_requirement(second),
    }
    v["verdict"] = verdict(v)
    return v


def report(summary: dict[str, Any]) -> str:
    """The printed text of a :func:`summarize` result: per-lr tables, verification tables, verdict."""
    return tables.per_lr(summary) + "\n\n" + tables.verification(summary["verification"])
