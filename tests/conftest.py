"""Fixtures shared by every test folder: a tiny sweep config that runs in seconds, one torch thread."""

import os
from pathlib import Path

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):  # one torch thread per worker: the workers share the cores
    torch.set_num_threads(1)

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


@pytest.fixture(scope="session")
def tiny_toml() -> str:
    """The text of a TOML file for a 2-run sweep (one learning rate diverges) on 600 MNIST-1D samples."""
    return TINY_TOML


@pytest.fixture
def tiny_config(tmp_path: Path, tiny_toml: str) -> Path:
    """``tiny_toml`` written to a file."""
    path = tmp_path / "tiny.toml"
    path.write_text(tiny_toml)
    return path


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's tests on one torch thread (restored after): tiny problems run fastest and
    steadiest so on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
