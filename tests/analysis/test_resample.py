"""The shared bootstrap: seeds stay within their learning rate, draws are resampled jointly."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.analysis.resample import percentile, replicates


def test_runs_stay_in_their_group_and_draws_move_every_run_together():
    groups = np.array([0, 0, 1, 1, 1])
    y = np.tile(np.arange(4.0), (5, 1)) + 100 * np.arange(5)[:, None]  # run i: 100 i + draw k
    x = np.arange(5.0)[:, None]
    b = replicates(groups, y, x, 500, np.random.default_rng(0))
    assert b.y.shape == (500, 5) and b.x.shape == (500, 5, 1)
    assert set(np.unique(b.x[:, :2, 0])) <= {0.0, 1.0} and set(np.unique(b.x[:, 2:, 0])) <= {2.0, 3.0, 4.0}
    offset = b.y - 100 * b.x[:, :, 0]  # the draw part: one draw resample for all runs of a replicate
    assert np.allclose(offset, offset[:, :1]) and offset.std() > 0.2
    assert offset.mean() == pytest.approx(1.5, abs=0.05)


def test_without_draws_the_targets_are_fixed():
    b = replicates(np.array([0, 0]), np.array([[1.0], [2.0]]), np.zeros((2, 1)), 50, np.random.default_rng(0))
    assert set(np.unique(b.y)) <= {1.0, 2.0}


def test_percentile_skips_nan():
    low, high, n = percentile(np.array([np.nan, *np.linspace(0, 1, 1001)]))
    assert (low, high, n) == (pytest.approx(0.025), pytest.approx(0.975), 1001)
