"""Tiny dataset files in the standard on-disk formats (CIFAR-10 python batches, MNIST idx)."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np


def write_cifar_batch(path: Path, images: np.ndarray, labels: list[int], legacy: bool = False):
    """A batch as CIFAR-10 ships it: a protocol-2 pickle of a dict with bytes keys."""
    batch = {b"batch_label": b"tiny", b"labels": labels, b"data": images, b"filenames": []}
    raw = pickle.dumps(batch, protocol=2)
    if legacy:  # the shipped batches were written with numpy < 2
        raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    path.write_bytes(raw)


def write_idx(path: Path, array: np.ndarray) -> None:
    """An idx file of unsigned bytes; gzip-compressed when the name ends in .gz."""
    header = bytes((0, 0, 0x08, array.ndim)) + np.asarray(array.shape, dtype=">u4").tobytes()
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
