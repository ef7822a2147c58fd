"""Wall-clock timing that waits for the device (CUDA kernels run asynchronously)."""

from __future__ import annotations

import time
from typing import Callable

import torch


def timed(fn: Callable[[], object], device: str, repeats: int = 1) -> float:
    """Mean seconds per call of ``fn`` over ``repeats`` calls, synchronising CUDA around them."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats
