"""The paper preset (CIFAR-10, ResNet-20, augmentation) runs on the CPU on a tiny CIFAR-format folder."""

import json

import numpy as np

from empirical import hessian_sweep
from empirical.experiment import run
from tests.data_files import write_cifar_batch

TINY_PAPER = """\
[sweep]
lrs = [0.05]
seeds = [0]
epochs = 3
batch_size = 8
noise_levels = [0.05]
samples = 2
curvature_samples = 8
trace_max_matvecs = 4
eval_batch_size = 16
"""


def _cifar(root):
    """A learnable tiny CIFAR-10: each image is a flat grey level set by its label, plus pixel noise."""
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, n in [(f"data_batch_{i}", 8) for i in range(1, 6)] + [("test_batch", 16)]:
        labels = rng.integers(0, 2, n)
        images = np.clip(40 + 170 * labels[:, None] + rng.normal(0, 10, (n, 3072)), 0, 255).astype(np.uint8)
        write_cifar_batch(folder / name, images, labels.tolist())
    return root


def test_paper_preset_trains_resnet20_with_augmentation_on_a_tiny_cifar_folder(tmp_path, monkeypatch):
    # What is checked is that the preset runs end to end; two fourth-order directions (the minimum)
    # instead of six keep its nested jvp's through ResNet-20 from dominating the test suite.
    monkeypatch.setattr(run, "FOURTH_ORDER_DRAWS", 2)
    root, out = _cifar(tmp_path / "data"), tmp_path / "res"
    config = tmp_path / "tiny_paper.toml"
    config.write_text(TINY_PAPER)
    argv = ["--preset", "paper", "--config", str(config), "--data-root", str(root), "--out", str(out), "--executor", "serial"]
    assert hessian_sweep.main(argv) == 0
    record = json.loads((out / "runs" / "lr0.05_seed0" / "run.json").read_text())
    assert (record["config"]["dataset"], record["config"]["model"], record["config"]["augment"]) == ("cifar10", "resnet20", True)
    assert record["input_shape"] == [3, 32, 32] and record["status"] == "ok"
    assert record["config"]["data_root"] == str(root)


def test_estimate_prints_cost_per_run_and_total(tiny_config, capsys):
    assert hessian_sweep.main(["--preset", "smoke", "--config", str(tiny_config), "--estimate"]) == 0
    out = capsys.readouterr().out
    assert "per run:" in out and "2 runs:" in out and "training" in out and "curvature" in out
