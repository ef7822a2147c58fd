"""Shared fixtures: a tiny sweep config that runs in seconds."""

from pathlib import Path

import pytest

TINY_TOML = """\
[sweep]
dataset_options = { num_samples = 600 }
lrs = [0.05, 1000.0]
seeds = [0]
epochs = 2
noise_levels = [0.05, 0.2]
samples = 4
curvature_samples = 100
trace_rel_se = 0.1
trace_max_matvecs = 10
"""


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    """A TOML file for a 2-run sweep (one learning rate diverges) on 600 MNIST-1D samples."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    return path
