"""``--estimate``: its prediction against a measured run, its ranges, and what it prints."""

import time

import pytest

from empirical.experiment import run
from empirical.sweep import config as cfg
from empirical.sweep import estimate

PHASES = ("train", "curvature", "fourth_order", "variance_terms", "kink", "noise")
# The run times the estimate's curvature phase as two parts.
PARTS = {"curvature": ("trace", "lambda_max")}
# Splits larger than the timed slices (2,400 train, 600 test, a 1,000-sample curvature subset
# against slices of 256), so every phase is extrapolated: samples, products, passes and steps.
MEASURED = dict(dataset_options={"num_samples": 3000}, curvature_samples=1000, lrs=(0.1,))


def test_estimate_predicts_each_phase_of_a_measured_run_within_a_factor_of_two(tmp_path, monkeypatch):
    """Prediction and run are timed in the same process, in this thread's CPU time (both take their
    seconds from ``time.perf_counter``, here ``time.thread_time``; one torch thread computes in it), so
    processes competing for the two cores (the other test worker, the sweeps some tests start) do not
    enter; the run is bracketed by two predictions whose geometric mean it is compared with, so what
    load still reaches CPU time (shared caches) shifts both sides alike. The factor 2 covers the
    model's known errors, measured at most 1.4× (λ_max's Lanczos products on the untrained slice,
    per-call overheads of the slice), and what is left of the load's changes."""
    monkeypatch.setattr(time, "perf_counter", time.thread_time)
    config = cfg.resolve("smoke", **MEASURED)
    before = estimate.measure(config, "cpu", slice_size=256)
    record = run.execute(config, 0.1, 0, tmp_path, "cpu")
    after = estimate.measure(config, "cpu", slice_size=256)
    assert record["status"] == "ok"
    measured = {phase: sum(record["metrics"][f"{p}_seconds"] for p in PARTS.get(phase, (phase,))) for phase in PHASES}
    predicted = {phase: (getattr(before, phase) * getattr(after, phase)) ** 0.5 for phase in PHASES}
    ratios = {phase: predicted[phase] / measured[phase] for phase in PHASES}
    assert all(0.5 <= r <= 2 for r in ratios.values()), (ratios, measured)
    assert before.curvature == before.curvature_max  # ReLU: the traces are certified exact
    assert 0.5 <= sum(predicted.values()) / sum(measured.values()) <= 2


def test_a_range_only_where_the_trained_network_decides_the_products():
    tiny = dict(dataset_options={"num_samples": 600}, curvature_samples=100, trace_max_matvecs=20)
    relu = estimate.measure(cfg.resolve("smoke", **tiny), "cpu", steps=2, slice_size=64)
    gelu = estimate.measure(cfg.resolve("smoke", activation="gelu", **tiny), "cpu", steps=2, slice_size=64)
    assert relu.trace_products[0] == relu.trace_products[1] and relu.curvature == relu.curvature_max
    fewest, most = gelu.trace_products
    assert fewest < most == 20 and gelu.curvature < gelu.curvature_max


def test_report_sums_phases_per_run_and_over_runs_and_jobs():
    config = cfg.resolve("smoke")
    point = estimate.Estimate(60, 30, 30, 15, 10, 5, 120, (4, 4))
    lines = estimate.report(config, "cpu", point, runs=4, jobs=2).splitlines()
    assert "per run: 4m00s = training 1m00s + curvature 0m30s (traces certified exact, 4 products each)" in lines[1]
    assert "4 runs: 16m00s serial; 8m00s with 2 parallel jobs" in lines[2]
    ranged = estimate.Estimate(60, 30, 90, 15, 10, 5, 120, (14, 40))
    lines = estimate.report(config, "cpu", ranged, runs=4, jobs=2).splitlines()
    assert "per run: 4m00s to 5m00s" in lines[1] and "curvature 0m30s to 1m30s (traces take 14 to 40" in lines[1]
    assert "4 runs: 16m00s to 20m00s serial" in lines[2]


@pytest.mark.parametrize(
    "overrides, sizes",
    [
        ({}, (1200, 300)),
        ({"dataset_options": {"num_samples": 3000, "train_split": 0.5}}, (1500, 1500)),
        ({"dataset": "cifar10"}, (50000, 10000)),
        ({"dataset": "mnist", "dataset_options": {"limit": 500}}, (500, 500)),
    ],
)
def test_split_sizes_follow_the_dataset_and_its_options(overrides, sizes):
    assert estimate.split_sizes(cfg.resolve("smoke", **overrides)) == sizes
