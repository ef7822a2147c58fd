"""The ratio-interval requirement at small η and the samples that would meet it."""

from __future__ import annotations

import math

import pytest

from empirical.analysis import orders
from empirical.analysis.predictions import cells
from empirical.analysis.requirement import CI_TARGET, SMALL_NOISE, ci_requirement
from tests.analysis.records import rows, synthetic_records


def test_ci_requirement_estimates_the_samples_needed():
    second = orders.order_rows(cells(*rows(synthetic_records())), "second_order")
    req = ci_requirement(second)
    small = [r for r in second if r["noise_level"] <= SMALL_NOISE]
    assert req["rows"] == len(small) > 0
    assert req["max_half_width"] == pytest.approx(max(1.959964 * r["ratio_se"] for r in small), rel=1e-6)
    assert req["met"] == (req["max_half_width"] <= CI_TARGET)
    # rerunning with the samples it asks for would meet the target: MC half-width ∝ 1/√samples
    r = max(small, key=lambda r: r["ratio_se"])
    mc = 1.959964 * r["measured_se"] / r["predicted"] * math.sqrt(64 / req["samples_needed"])
    trace = 1.959964 * r["ratio"] * r["predicted_se"] / r["predicted"]
    assert math.hypot(mc, trace) <= CI_TARGET + 1e-9


def test_a_trace_error_beyond_the_target_needs_infinitely_many_samples():
    second = orders.order_rows(cells(*rows(synthetic_records())), "second_order")
    for r in second:
        r["predicted_se"] = r["predicted"]  # the trace part alone: ±1.96·ratio > 0.1
    req = ci_requirement(second)
    assert req["samples_needed"] == math.inf and req["max_trace_half_width"] > CI_TARGET
