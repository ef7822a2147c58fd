"""Tests for empirical.curvature.sequential: standard errors and the stopping rule."""

from __future__ import annotations

import math

import pytest
import torch

from empirical.curvature import sequential


def normal_draws(mean, sd, seed=0):
    g = torch.Generator().manual_seed(seed)
    return lambda k: mean + sd * torch.randn(k, 1, generator=g, dtype=torch.float64)


def test_t_factor():
    assert sequential.t_factor(1) == math.inf
    assert sequential.t_factor(10) == pytest.approx(2.262157 / 1.959964, rel=1e-6)
    assert 1 < sequential.t_factor(1000) < 1.002


def test_mean_and_se():
    x = torch.tensor([[1.0], [2.0], [3.0], [6.0]])
    mean, se = sequential.mean_and_se(x)
    assert mean.item() == 3.0
    assert se.item() == pytest.approx(x.std().item() / 2 * sequential.t_factor(4))


def test_stops_at_target_and_reports_offset():
    r = sequential.run(normal_draws(10.0, 1.0), offsets=torch.tensor([5.0]), rel_se=0.01, abs_se=0.0,
                       min_samples=10, max_samples=10_000)  # fmt: skip
    assert r.ses[0] <= 0.01 * abs(r.values[0])
    # se ≈ 1/√n ≤ 0.15 needs n ≈ 45–60; the projection should not overshoot wildly
    assert 30 <= r.samples <= 130
    assert abs(r.values[0].item() - 15.0) <= 4 * r.ses[0].item()


def test_budget_and_minimum():
    r = sequential.run(normal_draws(1.0, 100.0), offsets=torch.zeros(1), rel_se=0.01, abs_se=0.0,
                       min_samples=10, max_samples=37)  # fmt: skip
    assert r.samples == 37
    r = sequential.run(normal_draws(1.0, 0.0), offsets=torch.zeros(1), rel_se=0.01, abs_se=0.0,
                       min_samples=10, max_samples=37)  # fmt: skip
    assert r.samples == 10 and r.ses[0] == 0


def test_abs_se_stops_a_block_near_zero():
    r = sequential.run(normal_draws(0.0, 1.0), offsets=torch.zeros(1), rel_se=0.01, abs_se=0.5,
                       min_samples=10, max_samples=10_000)  # fmt: skip
    assert r.ses[0] <= 0.5 and r.samples < 100


def test_adaptive_stopping_keeps_coverage():
    # sequential stopping on a skewed (chi-square) sample: ±2·se still covers ≥ 90% of the time
    hits = 0
    for seed in range(200):
        g = torch.Generator().manual_seed(seed)
        draw = lambda k: torch.randn(k, 3, generator=g, dtype=torch.float64).square().sum(1, keepdim=True)  # noqa: E731
        r = sequential.run(draw, offsets=torch.zeros(1), rel_se=0.1, abs_se=0.0, min_samples=10, max_samples=1000)
        hits += abs(r.values[0].item() - 3.0) <= 2 * r.ses[0].item()
    assert hits >= 180, hits
