"""Random probe vectors; every draw takes an explicit generator (never the global RNG)."""

from __future__ import annotations

import torch
from torch import Tensor


def rademacher(dim: int, k: int, generator: torch.Generator, *, device: torch.device, dtype: torch.dtype) -> Tensor:
    """(dim, k) i.i.d. ±1, drawn on the generator's device, returned on ``device``."""
    bits = torch.randint(0, 2, (dim, k), generator=generator, device=generator.device)
    return (2 * bits - 1).to(device=device, dtype=dtype)


def gaussian(dim: int, k: int, generator: torch.Generator, *, device: torch.device, dtype: torch.dtype) -> Tensor:
    """(dim, k) i.i.d. N(0, 1), drawn in float64 on the generator's device, returned on ``device``."""
    z = torch.randn((dim, k), generator=generator, device=generator.device, dtype=torch.float64)
    return z.to(device=device, dtype=dtype)
