"""The smooth control, end to end: where the theory must hold, the sweep's own measurement agrees with it.

A GELU network has no activation kinks, so at small noise E[ΔL] = ½η² tr(HΣ₁) up to O(η⁴). Two
tiny MLPs are trained on MNIST-1D and measured by the sweep's own run code (``run.execute``: the
trace on the test split, the Monte Carlo on the same split with draws shared by every run and
level); the ratio measured/predicted pooled over the runs and the levels η ≤ 0.02, with the error
over the shared draws (``empirical.analysis.pooling``), must hold 1 in its 95% interval. The same
interval rejects a prediction 20% off and one from the trace on the wrong (train) split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from empirical import analysis, curvature
from empirical.analysis.pooling import COMMON, pooled
from empirical.analysis.predictions import cells
from empirical.analysis.intervals import Z95
from empirical.experiment import noise, run
from empirical.sweep import config as cfg
from empirical.sweep import store

MAX_NOISE = 0.02


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory, one_thread: None) -> tuple[cfg.SweepConfig, Path, list[Any]]:
    """(config, results folder, cells at η ≤ MAX_NOISE) of two GELU runs: 800 noise draws, tr(HΣ₁) to 1%."""
    config = cfg.resolve(
        "smoke", model="mlp", activation="gelu", dataset_options={"num_samples": 1000}, lrs=[0.05, 0.1], seeds=[0],
        epochs=6, noise_levels=[0.01, MAX_NOISE], samples=800, curvature_samples=200, trace_rel_se=0.01,
        trace_max_matvecs=200,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("smooth")
    records = [run.execute(config, lr, seed, out) for lr in config.lrs for seed in config.seeds]
    assert [r["status"] for r in records] == ["ok", "ok"]
    return config, out, cells(store.run_rows(records), store.noise_rows(records))


def test_the_pooled_ratio_of_a_smooth_network_holds_1(control):
    _, _, small = control
    assert {c["kink"] for c in small} == {0.0} and all(c["pk"] == c["p2"] for c in small)  # no kinks: exactly
    r = pooled(small, "p2")
    assert r["pooling"] == COMMON and (r["cells"], r["pairs"]) == (4, 400)
    assert Z95 * r["ratio_se"] < 0.1, r  # precise enough that a 20% error cannot hide
    assert r["ci_contains_1"], r
    # the cells share their draws: treated as independent, the same numbers give a too-narrow interval
    apart = pooled([{k: v for k, v in c.items() if k != "pair_increase"} for c in small], "p2")
    assert apart["ratio_se"] < 0.8 * r["ratio_se"]


def test_the_same_interval_rejects_a_wrong_prediction(control):
    config, out, small = control
    for factor in (1.2, 1 / 1.2):
        off = pooled([{**c, "p2": factor * c["p2"], "p2_se": factor * c["p2_se"]} for c in small], "p2")
        assert not off["ci_contains_1"], (factor, off)
    # tr(HΣ₁) on the train split, where the noise was not drawn: the split matters at this precision
    x, y = run.load_split(config, "train")
    on_train = {}
    for run_id in {c["run_id"] for c in small}:
        model, _ = store.load_run(out / "runs" / run_id)
        scale = noise.scale(model, config.noise_model, noise.targets(model, config.noise_scope))
        on_train[run_id] = curvature.hessian_trace(
            model, x, y, scale=scale, rel_se=config.trace_rel_se, max_matvecs=config.trace_max_matvecs,
            generator=torch.Generator().manual_seed(config.curvature_seed),
        )  # fmt: skip
    wrong = [{**c, "p2": c["p2"] * on_train[c["run_id"]].value / c["noise_trace_test"],
              "p2_se": c["p2"] * on_train[c["run_id"]].se / c["noise_trace_test"]} for c in small]  # fmt: skip
    assert not pooled(wrong, "p2")["ci_contains_1"]


def test_the_verdict_says_the_kink_term_is_zero(control):
    config, out, _ = control
    records = list(store.finished_runs(out).values())
    v = analysis.summarize(config.to_dict(), store.run_rows(records), store.noise_rows(records), bootstrap=10)
    (block,) = v["analysis"]["noise_models"]
    assert block["kinks"]["state"] == "zero"
    assert any(line.startswith("Kink term: 0 in every run") for line in block["verdict"])
