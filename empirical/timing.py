"""Wall-clock timing that waits for the device (CUDA kernels run asynchronously)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Iterator

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


class Stopwatch:
    """Wall seconds per named part of a job, the device synchronised around each part.

    ``with watch("train"): ...`` adds the block's seconds to ``watch.seconds["train"]``; parts keep
    the order in which they first ran.
    """

    def __init__(self, device: str | torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, part: str) -> Iterator[None]:
        cuda = torch.device(self.device).type == "cuda"
        if cuda:
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        try:
            yield
        finally:
            if cuda:
                torch.cuda.synchronize(self.device)
            self.seconds[part] = self.seconds.get(part, 0.0) + time.perf_counter() - start
