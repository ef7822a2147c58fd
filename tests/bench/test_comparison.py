"""Tests for empirical.bench.comparison on a tiny exact problem: rows, figures and their intervals."""

from __future__ import annotations

import copy
import math

import pytest

from empirical.bench import comparison, curvature
from empirical.bench.reference import ReferenceTrace
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
    assert "a: reference (exact: BackPACK DiagHessian" in text and "tr(H) = " in text and "(exact)" in text
    assert all(r["trace_se"] == 0 and r["trace_usable"] and r["noise_trace_usable"] for r in result["references"])


def test_fixed_probes_without_defaults():
    result = _run(probes=7, defaults=False, methods=("gn",))
    names = [m["name"] for m in result["methods"] if m["checkpoint"] == "a"]
    assert names == ["pyhessian, 7 probes", "ours gn", "ours gn, tr(HΣ₁)"]
    assert result["methods"][0]["matvecs"] == 7 and result["speedups"][0]["pyhessian_probes"] == 7


def test_coverage_widens_by_the_reference_se():
    assert comparison.covered(10.2, 0.1, 10.0)  # |0.2| ≤ 2 · 0.1
    assert not comparison.covered(10.21, 0.1, 10.0)
    assert comparison.covered(10.28, 0.1, 10.0, 0.1)  # 2·√(0.1² + 0.1²) = 0.2828
    assert not comparison.covered(10.29, 0.1, 10.0, 0.1)
    assert comparison.covered(9.71, 0.0, 10.0, 0.15) and not comparison.covered(9.69, 0.0, 10.0, 0.15)


def _rows(values, se=0.1):
    return [{"value": v, "se": se, "matvecs": 4, "seconds": 1.0} for v in values]


def test_summary_counts_a_hit_within_the_combined_se():
    checkpoint = comparison.Checkpoint("a", 0.1, None)
    rows = _rows([10.25, 9.75, 10.0, 10.5])  # |errors| 0.25, 0.25, 0, 0.5
    exact = comparison.summarize("ours", checkpoint, ReferenceTrace(10.0), rows)
    assert exact["coverage"] == 0.25 and exact["reference_rel_se"] == 0
    with_se = comparison.summarize("ours", checkpoint, ReferenceTrace(10.0, 0.1, 500), rows)
    assert with_se["coverage"] == 0.75 and with_se["reference_rel_se"] == pytest.approx(0.01)
    assert with_se["rel_error"] == pytest.approx(math.sqrt((0.025**2 * 2 + 0.05**2) / 4))
    unusable = comparison.summarize("ours", checkpoint, ReferenceTrace(10.0, 0.1, 500), rows, usable=False)
    assert unusable["rel_error"] is None and unusable["coverage"] is None and unusable["rel_se"] == 0.01


def test_plan_judges_a_reference_against_its_target():
    plan = comparison.Plan(repeats=2, target=0.01)
    assert plan.usable(ReferenceTrace(100.0, 0.2)) and plan.usable(ReferenceTrace(100.0))
    assert not plan.usable(ReferenceTrace(100.0, 0.21))  # 0.21% > a fifth of 1%
    assert not plan.usable(ReferenceTrace(0.0, 0.0))  # no relative se without a value


def test_split_reference_reports_its_se_and_withholds_figures_when_it_is_too_large():
    result = _run(probes=5, defaults=False, methods=("gn",), reference="split", target=0.01, repeats=2)
    for r in result["references"]:
        assert r["method"].startswith("split: ") and r["trace_se"] > 0 and r["trace_probes"] >= 10
        assert r["trace_usable"] == (r["trace_rel_se"] <= 0.002)
    assert not any(r["trace_usable"] for r in result["references"])  # 200 probes on relu_cnn: ~1% se
    assert all(m["rel_error"] is None and m["coverage"] is None for m in result["methods"])
    assert result["se_coverage"] is None and result["se_coverage_trials"] == 0
    text = curvature.table(result)
    assert "(0.2 of the 1% target): errors and coverage against it are not reported" in text
