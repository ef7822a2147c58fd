"""Monte Carlo with noise on one layer alone: the layer's slice of the full draw, and a shared clean prefix.

Noise on layer l alone is ``w + η · s_l ⊙ z_l`` for layer l and ``w`` elsewhere, where z is the
full draw k of :func:`empirical.experiment.noise.draw` over every noise target. So draw k of every
layer is the l-slice of the overall Monte Carlo's draw k: a common random number across runs *and*
across layers, and the layers' ΔL can be added and compared with the overall ΔL draw by draw.
This is :func:`empirical.experiment.evaluate.monte_carlo` with Σ₁^½ zero outside layer l
(:func:`masked`): 0 · z adds exactly 0, so the other weights stay bit for bit clean.

Clean prefix: in a plain ``nn.Sequential`` the children before the first one holding l see only
clean weights, so their output is computed once (:func:`clean_prefix`) and every draw runs the
rest of the network from it. The results equal the plain path's up to rounding (bit for bit when
the evaluation's batches are those of the prefix); the saving is the prefix's share of a forward pass.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor, nn

from empirical.experiment import evaluate


def masked(scales: dict[str, Tensor], layer: str) -> dict[str, Tensor]:
    """Σ₁^½ of noise on ``layer`` alone: ``scales`` with every other entry zero (same keys, same draws)."""
    if layer not in scales:
        raise ValueError(f"layer {layer!r} has no noise scale; scaled parameters: {', '.join(scales)}")
    return {name: s if name == layer else torch.zeros_like(s) for name, s in scales.items()}


class Suffix(nn.Sequential):
    """A ``nn.Sequential``'s own children under their own names, run from child ``start`` on.

    Its parameters are the model's (shared, same names), so ``functional_call`` with the model's
    parameter dict works unchanged; its input is the output of children ``[0, start)``.
    """

    def __init__(self, model: nn.Sequential, start: int) -> None:
        super().__init__(OrderedDict(model.named_children()))
        self.start = start

    def forward(self, h: Tensor) -> Tensor:
        for module in list(self)[self.start :]:
            h = module(h)
        return h


def first_child(model: nn.Sequential, layer: str) -> int:
    """Index of the first child of ``model`` that holds the parameter ``layer`` (tied weights included)."""
    tensor = dict(model.named_parameters())[layer]
    for i, child in enumerate(model.children()):
        if any(p is tensor for _, p in child.named_parameters(remove_duplicate=False)):
            return i
    raise ValueError(f"parameter {layer!r} is not held by any child of the nn.Sequential")


@torch.no_grad()
def clean_prefix(model: nn.Module, layer: str, x: Tensor, batch_size: int) -> tuple[nn.Module, Tensor]:
    """(module, inputs) such that ``module(inputs)`` is ``model(x)`` for any noise on ``layer`` alone.

    A plain ``nn.Sequential`` gives the children from the first one holding ``layer`` on and the
    clean output of the children before it, computed in batches of ``batch_size`` (the batches of
    the evaluation); any other model gives ``(model, x)``.
    """
    if type(model) is not nn.Sequential:
        return model, x
    start = first_child(model, layer)
    if start == 0:
        return model, x
    prefix = model[:start]
    return Suffix(model, start), torch.cat([prefix(xb) for xb in x.split(batch_size)])


def layer_monte_carlo(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    scales: dict[str, Tensor],
    layer: str,
    levels: tuple[float, ...],
    samples: int,
    noise_seed: int,
    batch_size: int,
    *,
    blocks: int = 1,
) -> list[evaluate.NoisyEvaluation]:
    """ΔL per level with noise on ``layer`` alone: ``samples`` draws (``samples/2`` antithetic pairs).

    ``scales`` is Σ₁^½ of every noise target (:func:`empirical.experiment.noise.scale`): its keys
    fix the draw, so draw k is the ``layer`` slice of the overall evaluation's draw k with the same
    ``noise_seed`` and ``blocks`` (draws per pass, ``evaluate.monte_carlo``). The model in the mode
    to evaluate (eval); x and y on its device.
    """
    module, inputs = clean_prefix(model, layer, x, batch_size)
    return evaluate.monte_carlo(
        module, inputs, y, masked(scales, layer), levels, samples, noise_seed, batch_size, blocks=blocks
    )
