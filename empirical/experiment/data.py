"""Datasets as tensors: MNIST-1D generated offline, CIFAR-10 and MNIST read from a local folder.

`load` returns `(x, y)` on the CPU: `x` float32 of shape (N, C, ...) already normalised, `y` int64
class indices of shape (N,). Nothing is downloaded and torchvision is not used. `augment` is the
standard CIFAR training augmentation as a pure function of a batch and a generator.
"""

from __future__ import annotations

import gzip
import io
import pickle
import random
from pathlib import Path

import mnist1d.data
import mnist1d.utils
import numpy as np
import torch

DATASETS = ("mnist1d", "cifar10", "mnist")
NUM_CLASSES = {"mnist1d": 10, "cifar10": 10, "mnist": 10}
SPLITS = ("train", "test")

# Per-channel mean and std of the CIFAR-10 training images, pixel values in [0, 1].
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
# Mean and std of the MNIST training images, pixel values in [0, 1].
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# Every argument of mnist1d's generator is an option (`url` only serves downloads); lists are
# stored as tuples so the arguments are hashable. 10,000 samples give a 2,000-sample test split.
MNIST1D_DEFAULTS = {
    **{
        name: tuple(value) if isinstance(value, list) else value
        for name, value in mnist1d.data.get_dataset_args(as_dict=True).items()
        if name != "url"
    },
    "num_samples": 10000,
    "seed": 42,
    "train_split": 0.8,
}

CIFAR10_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
CIFAR10_SUBFOLDER = "cifar-10-batches-py"
_CIFAR10_EXPECTED = (
    f"expected {', '.join(CIFAR10_FILES['train'] + CIFAR10_FILES['test'])}"
    " (the python version of CIFAR-10)"
)
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MNIST_SUBFOLDER = Path("MNIST", "raw")
_MNIST_EXPECTED = f"expected {', '.join(MNIST_FILES['train'] + MNIST_FILES['test'])} (or .gz)"


class DataError(ValueError):
    """A dataset request that cannot be served; the message is one line naming the bad value."""


def load(
    dataset: str, split: str, root: str | None = None, **options
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of a dataset as CPU tensors.

    Args:
        dataset: one of `DATASETS`.
        split: ``"train"`` or ``"test"``.
        root: folder with the files of ``cifar10`` or ``mnist``; ignored by ``mnist1d``.
        options: ``limit`` (int >= 1 or None) keeps the first `limit` samples of the split, for
            every dataset. ``mnist1d`` also takes every argument of mnist1d's generator, with
            defaults `MNIST1D_DEFAULTS` (``num_samples=10000, seed=42, train_split=0.8``).

    Returns:
        ``x`` float32, normalised: (N, 1, 40) for mnist1d at the default length, (N, 3, 32, 32)
        for cifar10, (N, 1, 28, 28) for mnist; ``y`` int64 class indices in [0, 10), shape (N,).

    Raises:
        DataError: unknown dataset, split or option, bad limit, missing root, missing or
            malformed files.
    """
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    limit = options.pop("limit", None)
    _check_limit(limit)
    if dataset == "mnist1d":
        return _load_mnist1d(split, limit, options)
    if options:
        raise DataError(
            f"unknown option(s) {', '.join(map(repr, sorted(options)))} for dataset {dataset!r};"
            " expected only 'limit'"
        )
    if dataset == "cifar10":
        return _load_cifar10(_check_root(dataset, root, _CIFAR10_EXPECTED), split, limit)
    return _load_mnist(_check_root(dataset, root, _MNIST_EXPECTED), split, limit)


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Standard CIFAR augmentation: random crop with 4-pixel zero padding, random horizontal flip.

    Each sample is padded with 4 zeros on every side (zero in the units of `x`: for normalised
    data, the mean colour), cropped back to (H, W) at an offset drawn uniformly from {0, ..., 8}
    per axis, and flipped left-right with probability 1/2. Draws, in this order and all from
    `generator`: row offsets (N,), column offsets (N,), flips (N,).

    Args:
        x: images, shape (N, C, H, W).
        generator: the source of every random draw; its device decides where draws are made.

    Returns:
        A new tensor of the shape, dtype and device of `x`; `x` is not modified.
    """
    if x.ndim != 4:
        raise ValueError(
            f"augment expects images of shape (N, C, H, W). Got shape {tuple(x.shape)}."
        )
    pad = 4
    n, _, h, w = x.shape
    draw = {"generator": generator, "device": generator.device}
    top = torch.randint(0, 2 * pad + 1, (n,), **draw).to(x.device)
    left = torch.randint(0, 2 * pad + 1, (n,), **draw).to(x.device)
    flip = (torch.rand(n, **draw) < 0.5).to(x.device)
    rows = top[:, None] + torch.arange(h, device=x.device)  # (N, H)
    cols_index = torch.arange(w, device=x.device)
    cols = left[:, None] + torch.where(flip[:, None], w - 1 - cols_index, cols_index)  # (N, W)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    samples = torch.arange(n, device=x.device)[:, None, None]
    # Advanced indices around the channel slice put the indexed dims first: (N, H, W, C).
    return padded[samples, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def _check_limit(limit: object) -> None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise DataError(f"bad limit {limit!r}; expected an integer >= 1 or None")


def _check_root(dataset: str, root: str | None, expected: str) -> Path:
    if root is None:
        raise DataError(f"dataset {dataset!r} needs a data root (got None); {expected}")
    folder = Path(root)
    if not folder.is_dir():
        raise DataError(f"data root {str(folder)!r} is not a folder; {expected}")
    return folder


# ---- MNIST-1D --------------------------------------------------------------------------------


def _load_mnist1d(
    split: str, limit: int | None, options: dict
) -> tuple[torch.Tensor, torch.Tensor]:
    unknown = sorted(set(options) - set(MNIST1D_DEFAULTS))
    if unknown:
        raise DataError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for dataset 'mnist1d';"
            f" expected limit, {', '.join(sorted(MNIST1D_DEFAULTS))}"
        )
    args = {**MNIST1D_DEFAULTS, **options}
    _check_mnist1d_args(args)
    data = _generate_mnist1d(
        tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in args.items()))
    )
    x, y = (data["x"], data["y"]) if split == "train" else (data["x_test"], data["y_test"])
    x = torch.tensor(x[:limit], dtype=torch.float32).unsqueeze(1)
    return x, torch.tensor(y[:limit], dtype=torch.int64)


def _check_mnist1d_args(args: dict) -> None:
    num_samples, seed, train_split = args["num_samples"], args["seed"], args["train_split"]
    # mnist1d makes num_samples // 10 samples per class: other values would silently shrink N.
    if (not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 10
            or num_samples % 10):
        raise DataError(
            f"bad num_samples {num_samples!r} for mnist1d; expected a positive multiple of 10"
        )
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise DataError(f"bad seed {seed!r} for mnist1d; expected an integer in [0, 2**32)")
    if not isinstance(train_split, (int, float)) or not 0 < train_split < 1:
        raise DataError(f"bad train_split {train_split!r} for mnist1d; expected a number in (0, 1)")


# MNIST-1D generations of this process, by sorted (name, value) arguments (a few seconds each).
_GENERATED: dict[tuple[tuple[str, object], ...], dict[str, np.ndarray]] = {}


def generated() -> dict[tuple[tuple[str, object], ...], dict[str, np.ndarray]]:
    """The MNIST-1D generations this process holds, for :func:`preload` in another process."""
    return dict(_GENERATED)


def preload(generations: dict[tuple[tuple[str, object], ...], dict[str, np.ndarray]]) -> None:
    """Adopt generations made elsewhere (:func:`generated`), e.g. a sweep's worker processes take
    the parent's instead of generating the same data again."""
    _GENERATED.update(generations)


def _generate_mnist1d(args: tuple[tuple[str, object], ...]) -> dict[str, np.ndarray]:
    """MNIST-1D generated from sorted (name, value) arguments; both splits from one generation, once per process.

    mnist1d's `make_dataset` seeds the global `random` and `numpy.random` generators
    (`set_seed(args.seed)`) and draws from them; their states are restored afterwards, so the
    result depends only on `args` and the caller's random streams are untouched.
    """
    if args not in _GENERATED:
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            data = mnist1d.data.make_dataset(mnist1d.utils.ObjectView(dict(args)))
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
        _GENERATED[args] = {key: data[key] for key in ("x", "y", "x_test", "y_test")}
    return _GENERATED[args]


# ---- CIFAR-10 --------------------------------------------------------------------------------


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler for CIFAR-10 batches that rebuilds numpy arrays and nothing else.

    The batches are pickles; refusing every other global keeps a bad file from running code.
    """

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),  # batches written with numpy < 2
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),  # bytes pickled by Python 3 at protocol <= 2
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return super().find_class(module, name)


def _load_cifar10(
    folder: Path, split: str, limit: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    paths = [
        _find_file(folder, CIFAR10_SUBFOLDER, (name,), _CIFAR10_EXPECTED)
        for name in CIFAR10_FILES[split]
    ]
    xs, ys = [], []
    for path in paths:  # read only the batches that `limit` needs
        x, y = _read_cifar10_batch(path)
        xs.append(x)
        ys.append(y)
        if limit is not None and sum(map(len, ys)) >= limit:
            break
    images = np.concatenate(xs)[:limit].reshape(-1, 3, 32, 32)
    x = torch.from_numpy(images).float().div_(255)
    mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return (x - mean) / std, torch.from_numpy(np.concatenate(ys)[:limit])


def _read_cifar10_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch: a dict with 'data' (N, 3072) uint8 in channel-major order, 'labels'."""
    expected = "expected a pickled dict with 'data' (N x 3072 uint8) and 'labels' (N ints in 0..9)"
    try:
        batch = _BatchUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except Exception as error:  # unpickling a damaged file can raise almost any exception type
        raise DataError(f"malformed CIFAR-10 batch {str(path)!r} ({error}); {expected}") from error
    if not isinstance(batch, dict):
        raise DataError(f"malformed CIFAR-10 batch {str(path)!r}; {expected}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get("labels")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == 3072):
        raise DataError(f"malformed CIFAR-10 batch {str(path)!r}: bad 'data'; {expected}")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise DataError(
            f"malformed CIFAR-10 batch {str(path)!r}: bad 'labels'; {expected}"
        ) from error
    if labels.shape != (len(data),) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise DataError(f"malformed CIFAR-10 batch {str(path)!r}: bad 'labels'; {expected}")
    return data, labels


# ---- MNIST -----------------------------------------------------------------------------------


def _load_mnist(folder: Path, split: str, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    images_path, labels_path = (
        _find_file(folder, MNIST_SUBFOLDER, (name, name + ".gz"), _MNIST_EXPECTED)
        for name in MNIST_FILES[split]
    )
    images = _read_idx(images_path, ndim=3)
    labels = _read_idx(labels_path, ndim=1)
    if images.shape[1:] != (28, 28):
        raise DataError(
            f"malformed MNIST file {str(images_path)!r}: images of size {images.shape[1:]},"
            " expected (28, 28)"
        )
    if len(labels) != len(images) or labels.max(initial=0) > 9:
        raise DataError(
            f"malformed MNIST file {str(labels_path)!r}: {len(labels)} labels up to"
            f" {labels.max(initial=0)} for {len(images)} images, expected one label in 0..9 each"
        )
    x = torch.tensor(images[:limit], dtype=torch.float32).div_(255)
    x = x.sub_(MNIST_MEAN).div_(MNIST_STD).unsqueeze(1)
    return x, torch.tensor(labels[:limit], dtype=torch.int64)


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx file of unsigned bytes: magic (0, 0, 8, ndim), ndim big-endian uint32 sizes, data."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as error:
        raise DataError(f"cannot read idx file {str(path)!r} ({error})") from error
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:4] != bytes((0, 0, 0x08, ndim)):
        raise DataError(
            f"malformed idx file {str(path)!r}: magic {raw[:4].hex()!r},"
            f" expected {bytes((0, 0, 0x08, ndim)).hex()!r} (unsigned bytes, {ndim}-d)"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    if len(raw) != header + int(np.prod(shape)):
        raise DataError(
            f"malformed idx file {str(path)!r}: {len(raw) - header} data bytes,"
            f" expected {int(np.prod(shape))} for shape {shape}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find_file(
    folder: Path, subfolder: str | Path, names: tuple[str, ...], expected: str
) -> Path:
    """The first of `names` found in `folder`, then in `folder / subfolder`."""
    for path in (base / name for base in (folder, folder / subfolder) for name in names):
        if path.is_file():
            return path
    raise DataError(
        f"no {names[0]!r} in {str(folder)!r} or {str(folder / subfolder)!r}; {expected}"
    )
