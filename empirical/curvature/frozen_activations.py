"""Smooth element-wise activations: their derivatives, and graph nodes that hold them fixed for products.

Autograd's double backward of an activation (``GeluBackwardBackward`` and the like) recomputes
σ''(a) from a (erf, exp, …) in every Hessian–vector product. ``hvp.py`` multiplies many vectors at
one θ through one graph, where a, σ'(a) and σ''(a) do not change. ``frozen_derivatives`` computes
σ' and σ'' once, in the forward pass that builds the graph, and replaces each smooth activation's
output by a node whose backward is g·σ'(a) and whose backward's derivative in a is g·σ''(a): the
same first and second derivatives up to rounding, without the recomputation. Profiled on the
MNIST-1D CNN with GELU (2,000 test samples, lr 0.2, 1 thread): the recomputation was a third of a
residual product (150 of 455 ms over three products). Third derivatives through these nodes
are wrong (σ''' is dropped): use them for first- and second-order derivatives only. Memory: each
activation call keeps σ'(a), σ''(a) and a copy of its output (three of its size) while the graph lives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor, nn

SMOOTH = (nn.GELU, nn.Tanh, nn.SiLU, nn.Softplus, nn.Sigmoid, nn.ELU)


def slopes(module: nn.Module, a: Tensor) -> tuple[Tensor, Tensor]:
    """(σ'(a), σ''(a)) entry by entry (a's shape) of an element-wise activation module, by double autograd."""
    with torch.enable_grad():
        a = a.detach().clone().requires_grad_(True)
        # forward, not __call__: no hooks (frozen_derivatives' own hook calls this)
        (slope,) = torch.autograd.grad(module.forward(a.clone()).sum(), a, create_graph=True)
        if not slope.requires_grad:  # linear wherever a lies
            return slope.detach(), torch.zeros_like(a)
        (curvature,) = torch.autograd.grad(slope.sum(), a, allow_unused=True)
    return slope.detach(), torch.zeros_like(a) if curvature is None else curvature.detach()


class _Slope(torch.autograd.Function):
    """g ↦ g·σ'(a): its derivative in g is σ'(a), in a it is g·σ''(a) (σ', σ'' fixed tensors)."""

    @staticmethod
    def forward(ctx, g: Tensor, a: Tensor, first: Tensor, second: Tensor) -> Tensor:
        ctx.save_for_backward(g * second, first)
        return g * first

    @staticmethod
    def backward(ctx, gg: Tensor) -> tuple[Tensor, Tensor, None, None]:
        g_second, first = ctx.saved_tensors
        return gg * first, gg * g_second, None, None


class _Activation(torch.autograd.Function):
    """h = σ(a) with a backward through :class:`_Slope`, so that a second backward reuses σ' and σ''."""

    @staticmethod
    def forward(ctx, a: Tensor, h: Tensor, first: Tensor, second: Tensor) -> Tensor:
        ctx.save_for_backward(a, first, second)
        return h.clone()

    @staticmethod
    def backward(ctx, g: Tensor) -> tuple[Tensor, None, None, None]:
        a, first, second = ctx.saved_tensors
        if not torch.is_grad_enabled():  # a first-order backward: no graph to record
            return g * first, None, None, None
        return _Slope.apply(g, a, first, second), None, None, None


def _freeze(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
    first, second = slopes(module, inputs[0])
    return _Activation.apply(inputs[0], output.detach(), first, second)


@contextlib.contextmanager
def frozen_derivatives(model: nn.Module) -> Iterator[None]:
    """Within: forward passes of ``model`` route its smooth activations (``SMOOTH``, exact types, not
    in place) through fixed-derivative nodes; graphs built then are exact to second order only."""
    hooks = [
        m.register_forward_hook(_freeze)
        for m in model.modules()
        if type(m) in SMOOTH and not getattr(m, "inplace", False)
    ]
    try:
        yield
    finally:
        for h in hooks:
            h.remove()
