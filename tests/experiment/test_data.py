"""Tests for empirical.experiment.data: tiny files in the real formats, MNIST-1D generation, augmentation."""

from __future__ import annotations

import pickle
import random
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from empirical.experiment import data
from empirical.experiment.data import DataError
from tests.data_files import write_cifar_batch, write_idx


@pytest.fixture
def cifar_root(tmp_path: Path) -> tuple[Path, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Five train batches of 2 images and a test batch of 3, in root/cifar-10-batches-py/."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    written = {"train": ([], []), "test": ([], [])}
    for name, n in [(f"data_batch_{i}", 2) for i in range(1, 6)] + [("test_batch", 3)]:
        images = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        write_cifar_batch(folder / name, images, labels)
        split = "test" if name == "test_batch" else "train"
        written[split][0].append(images)
        written[split][1].extend(labels)
    return tmp_path, {s: (np.concatenate(x), np.array(y)) for s, (x, y) in written.items()}


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10_reads_batches_exactly(cifar_root, split):
    root, written = cifar_root
    images, labels = written[split]
    x, y = data.load("cifar10", split, root=str(root))
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.shape == (len(labels), 3, 32, 32) and y.tolist() == labels.tolist()
    # Channel-major rows: entries 0, 1024 and 3071 are red (0, 0), green (0, 0), blue (31, 31).
    mean, std = data.CIFAR10_MEAN, data.CIFAR10_STD
    pixels = [((0, 0, 0, 0), (0, 0)), ((0, 1, 0, 0), (0, 1024)), ((1, 2, 31, 31), (1, 3071))]
    for index, entry in pixels:
        channel = index[1]
        expected = (images[entry] / 255 - mean[channel]) / std[channel]
        assert x[index].item() == pytest.approx(expected, abs=1e-5)
    restored = x * torch.tensor(std).view(1, 3, 1, 1) + torch.tensor(mean).view(1, 3, 1, 1)
    expected = torch.from_numpy(images.reshape(-1, 3, 32, 32) / 255).float()
    torch.testing.assert_close(restored, expected, atol=1e-6, rtol=0)


def test_cifar10_accepts_flat_folder_and_legacy_pickles(tmp_path):
    images = np.arange(2 * 3072).reshape(2, 3072).astype(np.uint8)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        write_cifar_batch(tmp_path / name, images, [3, 7], legacy=True)
    x, y = data.load("cifar10", "test", root=str(tmp_path))
    assert y.tolist() == [3, 7]
    assert x[1, 0, 0, 0].item() == pytest.approx(
        (images[1, 0] / 255 - data.CIFAR10_MEAN[0]) / data.CIFAR10_STD[0], abs=1e-5
    )


def test_cifar10_limit_takes_first_samples_and_reads_only_needed_batches(cifar_root):
    root, written = cifar_root
    (root / "cifar-10-batches-py" / "data_batch_5").write_bytes(b"not read")
    x, y = data.load("cifar10", "train", root=str(root), limit=3)
    images, labels = written["train"]
    assert x.shape == (3, 3, 32, 32) and y.tolist() == labels[:3].tolist()
    mean, std = data.CIFAR10_MEAN, data.CIFAR10_STD
    assert x[2, 0, 0, 0].item() == pytest.approx((images[2, 0] / 255 - mean[0]) / std[0], abs=1e-5)


@pytest.mark.parametrize(
    "content",
    [
        b"garbage, not a pickle",
        pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, protocol=2),
        pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, protocol=2),
        pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}, protocol=2),
        pickle.dumps([1, 2, 3], protocol=2),
        pickle.dumps(OrderedDict(data=np.zeros((1, 3072), np.uint8), labels=[0])),  # a global
    ],
    ids=["not-pickle", "bad-shape", "few-labels", "label-range", "not-dict", "foreign-global"],
)
def test_cifar10_malformed_batch_names_path(cifar_root, content):
    root, _ = cifar_root
    path = root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(content)
    with pytest.raises(DataError, match="malformed CIFAR-10 batch") as error:
        data.load("cifar10", "test", root=str(root))
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_cifar10_missing_file_names_path_and_expected_files(cifar_root):
    root, _ = cifar_root
    (root / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DataError) as error:
        data.load("cifar10", "train", root=str(root))
    message = str(error.value)
    assert "'data_batch_3'" in message and str(root) in message and "test_batch" in message
    assert "\n" not in message


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("layout", [".", "MNIST/raw"])
def test_mnist_reads_idx_exactly(tmp_path, gz, layout):
    rng = np.random.default_rng(1)
    folder = tmp_path / layout
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, prefix, n in [("train", "train", 5), ("test", "t10k", 3)]:
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        written[split] = images, labels
    for split, (images, labels) in written.items():
        x, y = data.load("mnist", split, root=str(tmp_path))
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.shape == (len(labels), 1, 28, 28)
        assert y.tolist() == labels.tolist()
        expected = (torch.from_numpy(images).double() / 255 - 0.1307) / 0.3081
        torch.testing.assert_close(x[:, 0].double(), expected, atol=1e-5, rtol=0)
    x, y = data.load("mnist", "train", root=str(tmp_path), limit=2)
    assert x.shape == (2, 1, 28, 28) and y.tolist() == written["train"][1][:2].tolist()


def valid_idx(array: np.ndarray) -> bytes:
    return bytes((0, 0, 8, array.ndim)) + np.asarray(array.shape, ">u4").tobytes() + array.tobytes()


@pytest.mark.parametrize(
    "file, content, match",
    [
        ("t10k-images-idx3-ubyte", b"\x00\x00\x08\x01" + bytes(8), "magic"),
        ("t10k-images-idx3-ubyte", valid_idx(np.zeros((2, 28, 28), np.uint8))[:-1], "data bytes"),
        ("t10k-images-idx3-ubyte", valid_idx(np.zeros((2, 5, 5), np.uint8)), "28, 28"),
        ("t10k-labels-idx1-ubyte", valid_idx(np.zeros(3, np.uint8)), "labels"),
        ("t10k-labels-idx1-ubyte", valid_idx(np.full(2, 12, np.uint8)), "labels"),
        ("t10k-labels-idx1-ubyte.gz", b"not gzip", "cannot read"),
    ],
    ids=["magic", "truncated", "image-size", "label-count", "label-range", "bad-gzip"],
)
def test_mnist_malformed_file_names_path(tmp_path, file, content, match):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    (tmp_path / file).write_bytes(content)  # a plain file is read before its .gz
    with pytest.raises(DataError, match=match) as error:
        data.load("mnist", "test", root=str(tmp_path))
    assert str(tmp_path / file) in str(error.value) and "\n" not in str(error.value)


def test_mnist_missing_file_names_path_and_expected_files(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError) as error:
        data.load("mnist", "test", root=str(tmp_path))
    message = str(error.value)
    assert "'t10k-labels-idx1-ubyte'" in message and str(tmp_path / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "\n" not in message


@pytest.mark.parametrize("dataset", ["cifar10", "mnist"])
def test_missing_or_bad_root_is_refused(tmp_path, dataset):
    with pytest.raises(DataError, match="needs a data root"):
        data.load(dataset, "train")
    with pytest.raises(DataError, match="is not a folder") as error:
        data.load(dataset, "train", root=str(tmp_path / "absent"))
    assert str(tmp_path / "absent") in str(error.value)


@pytest.mark.parametrize(
    "args, options, match",
    [
        (("imagenet", "train"), {}, "unknown dataset 'imagenet'; expected one of mnist1d, cifar10"),
        (("mnist1d", "valid"), {}, "unknown split 'valid'; expected one of train, test"),
        (("mnist1d", "train"), {"color": 1}, "unknown option.*'color'.*num_samples"),
        (("cifar10", "train"), {"seed": 1}, "unknown option.*'seed'.*'limit'"),
        (("mnist1d", "train"), {"limit": 0}, "bad limit 0"),
        (("mnist1d", "train"), {"limit": 2.5}, "bad limit 2.5"),
        (("mnist1d", "train"), {"limit": True}, "bad limit True"),
        (("mnist1d", "train"), {"num_samples": 105}, "bad num_samples 105"),
        (("mnist1d", "train"), {"train_split": 1.0}, "bad train_split 1.0"),
        (("mnist1d", "train"), {"seed": -1}, "bad seed -1"),
    ],
)
def test_bad_requests_are_refused_naming_the_value(args, options, match):
    with pytest.raises(DataError, match=match):
        data.load(*args, **options)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_mnist1d_default_splits():
    x, y = data.load("mnist1d", "train")
    x_test, y_test = data.load("mnist1d", "test")
    assert x.shape == (8000, 1, 40) and x_test.shape == (2000, 1, 40)
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and y_test.shape == (2000,)
    assert set(y.tolist()) == set(range(10))
    x_first, y_first = data.load("mnist1d", "train", limit=7)
    assert torch.equal(x_first, x[:7]) and torch.equal(y_first, y[:7])


def test_mnist1d_depends_only_on_options_and_leaves_global_rngs_alone(monkeypatch):
    options = {"num_samples": 200, "seed": 3}
    monkeypatch.setattr(data, "_GENERATED", {})
    np.random.seed(1)
    random.seed(1)
    numpy_before, python_before = np.random.get_state()[1].copy(), random.getstate()
    x, y = data.load("mnist1d", "train", **options)
    assert np.array_equal(np.random.get_state()[1], numpy_before)
    assert random.getstate() == python_before
    data._GENERATED.clear()
    np.random.seed(2)
    x_again, y_again = data.load("mnist1d", "train", **options)
    assert x.shape == (160, 1, 40) and torch.equal(x, x_again) and torch.equal(y, y_again)
    x_other, _ = data.load("mnist1d", "train", num_samples=200, seed=4)
    assert not torch.equal(x, x_other)


def test_mnist1d_returns_fresh_tensors():
    x, _ = data.load("mnist1d", "test", num_samples=100)
    x.zero_()
    assert data.load("mnist1d", "test", num_samples=100)[0].abs().sum() > 0


def reference_augment(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Loop version of the documented draws: row offsets, column offsets, flips, per sample."""
    generator = torch.Generator().manual_seed(seed)
    n, c, h, w = x.shape
    top = torch.randint(0, 9, (n,), generator=generator)
    left = torch.randint(0, 9, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        padded = torch.zeros(c, h + 8, w + 8, dtype=x.dtype)
        padded[:, 4 : 4 + h, 4 : 4 + w] = x[i]
        crop = padded[:, top[i] : top[i] + h, left[i] : left[i] + w]
        out[i] = crop.flip(-1) if flip[i] else crop
    return out


def test_augment_crops_and_flips_as_specified():
    x = torch.randn(64, 3, 32, 32)
    before = x.clone()
    out = data.augment(x, torch.Generator().manual_seed(5))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(x, before)
    assert torch.equal(out, reference_augment(x, seed=5))


def test_augment_is_deterministic_per_seed_and_varies_across_samples():
    x = torch.arange(2.0 * 500 * 6 * 6).view(500, 2, 6, 6) + 1  # no zeros inside the image
    out = data.augment(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, data.augment(x, torch.Generator().manual_seed(0)))
    assert not torch.equal(out, data.augment(x, torch.Generator().manual_seed(1)))
    generator = torch.Generator().manual_seed(0)
    top = torch.randint(0, 9, (500,), generator=generator)
    left = torch.randint(0, 9, (500,), generator=generator)
    flip = torch.rand(500, generator=generator) < 0.5
    assert set(top.tolist()) == set(range(9)) and set(left.tolist()) == set(range(9))
    assert 0.4 < flip.float().mean() < 0.6
    # Offset 0 on an axis leaves 4 zero rows (or columns) of padding at the start.
    assert (out[top == 0][:, :, :4, :] == 0).all() and (out[top == 4][:, :, :, :] != 0).any()
    unflipped_centre = (top == 4) & (left == 4) & ~flip
    assert torch.equal(out[unflipped_centre], x[unflipped_centre])
    flipped_centre = (top == 4) & (left == 4) & flip
    assert torch.equal(out[flipped_centre], x[flipped_centre].flip(-1))


def test_augment_refuses_non_image_batches():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\). Got shape \(3, 32, 32\)"):
        data.augment(torch.zeros(3, 32, 32), torch.Generator())


def test_a_process_preloaded_with_anothers_generations_does_not_generate_again(monkeypatch):
    monkeypatch.setattr(data, "_GENERATED", {})
    x, _ = data.load("mnist1d", "test", num_samples=100)
    generations = data.generated()
    monkeypatch.setattr(data, "_GENERATED", {})
    monkeypatch.setattr(data.mnist1d.data, "make_dataset", lambda args: pytest.fail("generated again"))
    data.preload(generations)
    assert torch.equal(data.load("mnist1d", "test", num_samples=100)[0], x)
