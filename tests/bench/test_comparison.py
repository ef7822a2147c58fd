"""Tests for empirical.bench.comparison on a tiny exact problem: rows, figures and their intervals."""

from __future__ import annotations

import copy

import pytest

from empirical.bench import comparison, curvature
from tests.curvature.problems import problem


def _scale(model):
    return {n: 0.1 * t.detach().abs() for n, t in model.named_parameters() if n.endswith("weight")}


def _run(**options):
    p = problem("relu_cnn")
    checkpoints = [comparison.Checkpoint(name, lr, copy.deepcopy(p.model)) for name, lr in [("a", 0.1), ("b", 0.2)]]
    plan = comparison.Plan(**{"repeats": 3, "target": 0.2, "methods": ("gn", "hutchinson"), "pilot": 10} | options)
    return comparison.benchmark(checkpoints, p.x, p.y, _scale, plan, log=lambda _: None)


def test_rows_figures_and_intervals():
    result = _run()
    names = [m["name"] for m in result["methods"] if m["checkpoint"] == "a"]
    assert names[0].startswith("pyhessian, ") and names[0].endswith(" probes (20%)")  # sized by the pilot
    assert names[1:] == ["pyhessian, defaults", "ours gn", "ours hutchinson", "ours gn, tr(HΣ₁)"]
    for m in result["methods"]:
        assert {"name", "matvecs", "seconds", "rel_error", "se", "repeats", "coverage", "coverage_ci"} <= set(m)
        assert m["repeats"] == 3
    s = result["speedups"][0]
    assert s["pyhessian_probes_at_1pct"] == pytest.approx((s["pyhessian_probe_rel_std"] / 0.2) ** 2)
    assert s["interval_level"] == pytest.approx(0.975)  # simultaneous 95% over two checkpoints
    for s in result["speedups"]:
        assert 0 < s["speedup_at_1pct_ci"][0] < s["speedup_at_1pct"] < s["speedup_at_1pct_ci"][1]
    smallest = min(s["speedup_at_1pct"] for s in result["speedups"])
    assert result["speedup_at_1pct"] == smallest
    assert result["speedup_at_1pct_ci"] == [min(s["speedup_at_1pct_ci"][i] for s in result["speedups"]) for i in (0, 1)]
    # gn is certified exact on a ReLU network: every repeat of tr(H) and tr(HΣ₁) lies within 2 se
    assert result["se_coverage"] == 1.0 and result["se_coverage_trials"] == 2 * 2 * 3
    assert result["se_coverage_ci"][0] == pytest.approx(0.7575, abs=1e-3) and result["se_coverage_ci"][1] == 1.0
    text = curvature.table(result)
    assert "speedup_at_1pct (smallest)" in text and "of 12 repeats" in text


def test_fixed_probes_without_defaults():
    result = _run(probes=7, defaults=False, methods=("gn",))
    names = [m["name"] for m in result["methods"] if m["checkpoint"] == "a"]
    assert names == ["pyhessian, 7 probes", "ours gn", "ours gn, tr(HΣ₁)"]
    assert result["methods"][0]["matvecs"] == 7 and result["speedups"][0]["pyhessian_probes"] == 7
