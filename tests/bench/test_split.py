"""Tests for empirical.bench.split: the exact G diagonal and the Hutchinson run on H − G."""

from __future__ import annotations

import copy
import statistics
import warnings

import pytest
import torch
from torch import nn

from empirical.bench import reference, split
from tests.curvature.problems import problem


@pytest.mark.parametrize("name", ["mlp", "cnn", "relu_cnn", "bn_cnn"])
def test_gauss_newton_diagonal_equals_the_dense_one(name):
    p = problem(name)
    diag = split.gauss_newton_diagonal(p.model, p.x, p.y, chunk=20)
    assert list(diag) == p.names
    flat = torch.cat([d.reshape(-1) for d in diag.values()])
    torch.testing.assert_close(flat, p.G.diagonal(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", ["mlp", "relu_cnn"])  # tanh, ReLU: layers BackPACK's DiagGGNExact supports
def test_gauss_newton_diagonal_equals_backpacks(name):
    backpack, extensions, _ = reference.libraries()
    p = problem(name)
    extended = backpack.extend(copy.deepcopy(p.model))
    loss = backpack.extend(nn.CrossEntropyLoss())(extended(p.x), p.y)
    with warnings.catch_warnings(), backpack.backpack(extensions.DiagGGNExact()):
        warnings.filterwarnings("ignore", "Full backward hook is firing", UserWarning)
        loss.backward()
    diag = split.gauss_newton_diagonal(p.model, p.x, p.y, chunk=7)  # chunks that do not divide N
    for n, q in extended.named_parameters():
        torch.testing.assert_close(diag[n], q.diag_ggn_exact, rtol=1e-10, atol=1e-14)


def test_residual_samples_are_unbiased_and_stop_at_the_cap():
    _, _, curvlinops = reference.libraries()
    p = problem("mlp")
    scale = p.scale()
    plain, scaled = split.residual_traces(curvlinops, p.model, p.x, p.y, scale, offsets=(0.0, 0.0), rel_se=0.0,
                                          max_probes=300, generator=torch.Generator().manual_seed(2),
                                          block=64)  # fmt: skip
    assert len(plain) == len(scaled) == 300  # rel_se 0 never stops early
    R = p.H - p.G
    s = p.flat_scale(scale)
    for samples, truth in ((plain, R.trace()), (scaled, (s.square() * R.diagonal()).sum())):
        se = statistics.stdev(samples) / len(samples) ** 0.5
        assert abs(statistics.fmean(samples) - truth.item()) <= 4 * se


def test_residual_samples_need_two_probes():
    _, _, curvlinops = reference.libraries()
    p = problem("mlp")
    with pytest.raises(ValueError, match="max_probes must be >= 2 for a standard error. Got 1."):
        split.residual_traces(curvlinops, p.model, p.x, p.y, None, offsets=(0.0, 0.0), rel_se=0.1, max_probes=1,
                              generator=torch.Generator())  # fmt: skip
