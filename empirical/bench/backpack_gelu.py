"""GELU for BackPACK's DiagHessian, which ships none: f(x) = x·Φ(x), f′ = Φ + x·φ, f″ = φ·(2 − x²).

Φ and φ are the standard normal cdf and density (``nn.GELU(approximate="none")``). BackPACK adds
the activation's residual f″(x)·∂L/∂f to the backpropagated Hessian factors, as for its own tanh.
Import only after ``empirical.bench.reference.libraries()`` has imported BackPACK.
"""

from __future__ import annotations

import math

import torch
from backpack.core.derivatives.elementwise import ElementwiseDerivatives
from backpack.extensions.secondorder.diag_hessian.diag_h_base import DiagHBaseModule
from torch import Tensor, nn


def _density(x: Tensor) -> Tensor:
    return torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _input(module: nn.GELU, subsampling: list[int] | None = None) -> Tensor:
    if module.approximate != "none":  # BackPACK then falls back (reference.reference_diagonal)
        raise NotImplementedError(f"GELU(approximate={module.approximate!r}): only 'none' is derived")
    return module.input0 if subsampling is None else module.input0[subsampling]


class GELUDerivatives(ElementwiseDerivatives):
    """Elementwise f′ and f″ of the exact GELU at the module's stored input."""

    def hessian_is_zero(self, module: nn.GELU) -> bool:
        return False

    def df(self, module: nn.GELU, g_inp: tuple[Tensor, ...], g_out: tuple[Tensor, ...],
           subsampling: list[int] | None = None) -> Tensor:  # fmt: skip
        x = _input(module, subsampling)
        return torch.special.ndtr(x) + x * _density(x)

    def d2f(self, module: nn.GELU, g_inp: tuple[Tensor, ...], g_out: tuple[Tensor, ...]) -> Tensor:
        x = _input(module)
        return _density(x) * (2 - x * x)


def diag_hessian(extensions) -> object:
    """BackPACK's ``DiagHessian`` extension, taught the exact GELU (``extensions``: ``backpack.extensions``)."""
    extension = extensions.DiagHessian()
    extension.set_module_extension(nn.GELU, DiagHBaseModule(GELUDerivatives()))
    return extension
