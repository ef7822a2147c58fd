"""Wall-clock timing that waits for the device (CUDA kernels run asynchronously)."""

from __future__ import annotations

import time
from typing import Callable

import torch


def timed(fn: Callable[[], object], device: str | torch.device, repeats: int = 1) -> float:
    """Mean wall seconds per call of ``fn`` over ``repeats`` calls, synchronising CUDA before and after.

    To keep a result, let ``fn`` store it (e.g. ``out.update(v=f())``).
    """
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    if cuda:
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / repeats
