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
- :mod:`~empirical.analysis.identification`: which quantity explains ΔL beyond the learning rate, and the
  slope and intercept of ΔL/(½η²) on tr(HΣ₁) (bootstrap: :mod:`~empirical.analysis.resample`);
- :mod:`~empirical.analysis.sweet_spot`: the predicted and the null (argmin clean loss) against the measured
  best learning rate, by paired differences;
- :mod:`~empirical.analysis.requirement`: whether the ratio intervals are narrow enough at small η;
- :mod:`~empirical.analysis.verdict` and :mod:`~empirical.analysis.tables`: the text;
- :mod:`~empirical.analysis.noise_models`: the noise models side by side: which way ΔL, the accuracy drop and
  the prediction move with lr under each (:mod:`~empirical.analysis.trend`), and whether the reference
  model's learning-rate conclusion holds, flips or vanishes;
- :mod:`~empirical.analysis.layers`: per-layer sensitivity (``layers.csv``): additivity, rank agreement, dominance;
- :mod:`~empirical.analysis.pcm`: a model whose levels are inference times (``pcm``), without anything that
  scales with η;
- :mod:`~empirical.analysis.load`: reading a results folder; :mod:`~empirical.analysis.stats`,
  :mod:`~empirical.analysis.intervals` (Fieller, log-ratio) and :mod:`~empirical.analysis.equivalence`
  (holds / fails / undetermined against ±10%): the statistics.

Everything is grouped by noise model (the ``noise_model`` column): one block and one verdict each.

A piecewise-linear (ReLU) network's Hessian misses the curvature at its activation kinks, which
Gaussian noise feels at second order in η; the kink term predicts it, and the analysis measures
how much of the second-order miss it explains.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from empirical.analysis import (
    aggregate, identification, kinks, layers, noise_models, orders, pcm, requirement, spread, sweet_spot, tables,
)  # fmt: skip
from empirical.analysis.equivalence import WITHIN
from empirical.analysis.levels import TIMED
from empirical.analysis.predictions import cells
from empirical.analysis.verdict import verdict

DEFAULT_REFERENCE = "layer-relative"  # the comparison's reference where the sweep's noise_model is not given
BOOTSTRAP = 2000  # default bootstrap replicates (seeds within lr and shared noise draws)


def summarize(
    config: dict[str, Any],
    run_rows: list[dict[str, Any]],
    noise_rows: list[dict[str, Any]],
    *,
    layer_rows: list[dict[str, Any]] | None = None,
    activation: str | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """The contents of ``summary.json``: counts, per-lr aggregates, and ``analysis``, the one block that
    compares the theory with the measurement.

    ``config`` is the resolved sweep config (its ``preset`` is recorded; its ``noise_model`` is the
    reference of the comparison); ``layer_rows`` are the rows of ``layers.csv`` (none: no per-layer
    block); ``activation`` names the network's activation (recorded); ``bootstrap`` replicates seeded by
    ``seed`` drive the resampling (deterministic for a given seed).
    """
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 1:
        raise ValueError(f"bootstrap must be an int >= 1. Got {bootstrap!r}.")
    return {
        "preset": config.get("preset"),
        "runs": len(run_rows),
        "diverged": sum(r["status"] != "ok" for r in run_rows),
        "per_lr": aggregate.per_lr(run_rows, noise_rows),
        "analysis": analyse(run_rows, noise_rows, layer_rows=layer_rows, reference=config.get("noise_model"),
                            activation=activation, bootstrap=bootstrap, seed=seed),
    }


def analyse(
    run_rows: list[dict[str, Any]],
    noise_rows: list[dict[str, Any]],
    *,
    layer_rows: list[dict[str, Any]] | None = None,
    reference: str | None = None,
    activation: str | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """``summary.json["analysis"]``: the method; per noise model (``noise_models``, one entry each, in name
    order) every comparison of prediction with measurement and its verdict; ``noise_model_comparison``
    (the models side by side against ``reference``, the sweep's ``noise_model``); and ``layers`` (from
    ``layer_rows``; None without them). A ``reference`` not among the rows' models is replaced by
    :data:`DEFAULT_REFERENCE` where present, else the first by name; the run-level curvature of runs.csv belongs to it alone."""
    names = sorted({str(r.get("noise_model") or "unnamed") for r in noise_rows})
    if reference not in names:
        reference = DEFAULT_REFERENCE if DEFAULT_REFERENCE in names else (names[0] if names else None)
    joined = cells(run_rows, noise_rows, reference)
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in joined:
        by_model[c["noise_model"]].append(c)
    rng = np.random.default_rng(seed)
    return {
        "method": {
            "confidence": 0.95, "within": WITHIN, "split": "test", "bootstrap": bootstrap, "bootstrap_seed": seed,
            "ratio": "measured / predicted ΔL; per (run, level) Fieller's interval, pooled the log-ratio interval",
            "pooled_ratio": "mean over runs of d_k/predicted per shared noise draw k, SE over draws; prediction "
                            "errors added as fully correlated across runs (independent runs without per-draw data)",
            "equivalence": "holds: the ratio's 95% interval inside the ±10% band; fails: wholly outside; "
                           "undetermined: otherwise, or no finite interval",
            "identification": identification.CONDITIONAL,
        },  # fmt: skip
        "activation": activation,
        "noise_models": [_model(name, run_rows, cs, bootstrap, rng) for name, cs in sorted(by_model.items())],
        "noise_model_comparison": noise_models.compare_models(joined, reference, bootstrap, rng),
        "layers": layers.layer_summary(layer_rows, joined, bootstrap, rng) if layer_rows else None,
    }


def _model(
    name: str, run_rows: list[dict[str, Any]], joined: list[dict[str, Any]], bootstrap: int, rng: np.random.Generator
) -> dict[str, Any]:
    """One noise model's block of ``analysis["noise_models"]`` (:func:`~empirical.analysis.pcm.block` for a timed one)."""
    if name in TIMED:
        return pcm.block(name, run_rows, joined, bootstrap, rng)
    rows = {key: orders.order_rows(joined, key) for key in orders.PREDICTIONS}
    variance = spread.variance_rows(joined)
    v: dict[str, Any] = {"noise_model": name, "runs": len({c["run_id"] for c in joined})}
    for key, key_rows in rows.items():
        v[key], v[f"{key}_fit"] = key_rows, orders.level_fits(key_rows)
    v.update({
        "by_lr": orders.by_lr(joined),
        "breakdown": orders.breakdown_rows(rows),
        "kinks": kinks.kink_summary(joined, rows),
        "variance": variance,
        "variance_fit": spread.variance_fit(variance),
        "identification": identification.explanatory(joined, bootstrap, rng),
        "slope": identification.slope(joined, bootstrap, rng),
        "sweet_spot": sweet_spot.sweet_spots(run_rows, joined),
        "ci_requirement": requirement.ci_requirement(rows["second_order"]),
    })  # fmt: skip
    v["verdict"] = verdict(v)
    return v


def report(summary: dict[str, Any]) -> str:
    """The printed text of a :func:`summarize` result: the verdict first, then the tables."""
    return tables.analysis(summary["analysis"]) + "\n\n" + tables.per_lr(summary)
