"""Arguments of the sensitivity API, checked at the door: each raises ``ValueError`` naming the bad value."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from empirical.experiment import noise
from empirical.sweep.config import NOISE_MODELS


def noise_model(value: object) -> str:
    """One of ``NOISE_MODELS``."""
    if value not in NOISE_MODELS:
        raise ValueError(f"unknown noise model {value!r}; choose one of {', '.join(NOISE_MODELS)}")
    return value  # type: ignore[return-value]


def levels(value: object) -> tuple[float, ...]:
    """A non-empty sequence of finite noise levels η > 0."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ValueError(f"levels must be a non-empty sequence of noise levels > 0. Got {value!r}.")
    for eta in value:
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta) or eta <= 0:
            raise ValueError(f"noise level {eta!r} is invalid; levels must be finite numbers > 0.")
    return tuple(float(eta) for eta in value)


def samples(name: str, value: object) -> int:
    """An even number of draws >= 2 (antithetic pairs)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 2 or value % 2:
        raise ValueError(f"{name} {value!r} is invalid; give an even integer >= 2 (antithetic pairs).")
    return value


def data(x: object, y: object) -> tuple[Tensor, Tensor]:
    """x (N, ...) floating point, y (N,) integer class indices >= 0, N >= 1."""
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise ValueError(f"x and y must be tensors. Got {type(x).__name__} and {type(y).__name__}.")
    if x.ndim < 1 or len(x) < 1 or not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor (N, ...) with N >= 1. Got {tuple(x.shape)}, {x.dtype}.")
    if y.ndim != 1 or len(y) != len(x) or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"y must hold {len(x)} integer class indices, shape (N,). Got {tuple(y.shape)}, {y.dtype}.")
    if y.min() < 0:
        raise ValueError(f"y must hold class indices >= 0. Got {y.min().item()}.")
    return x, y.long()


@torch.no_grad()
def logits(model: object, x: Tensor, y: Tensor) -> nn.Module:
    """A module whose output on x[:2] is logits (n, C) with C > max(y); the model must be in the mode to test."""
    if not isinstance(model, nn.Module) or not any(True for _ in model.parameters()):
        raise ValueError(f"model must be a torch.nn.Module with parameters. Got {type(model).__name__}.")
    out = model(x[:2])
    classes = int(y.max()) + 1
    if not isinstance(out, Tensor) or out.ndim != 2 or len(out) != len(x[:2]) or out.shape[1] < classes:
        got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(
            f"model must return logits of shape (N, C) with C >= {classes} (the classes in y). "
            f"Got {got} for N = {len(x[:2])}."
        )
    return model


def layers(model: nn.Module, requested: object, scope: str) -> list[str]:
    """The noise targets of ``scope`` named in ``requested`` (None: all of them), in the model's order."""
    targets = noise.targets(model, scope)
    if requested is None:
        return targets
    if isinstance(requested, str) or not isinstance(requested, Sequence) or not requested:
        raise ValueError(f"layers must be a non-empty list of parameter names or None. Got {requested!r}.")
    params = dict(model.named_parameters())
    for name in requested:
        if name not in params:
            raise ValueError(f"layer {name!r} is not a parameter of the model; parameters: {', '.join(params)}")
        if name not in targets:
            raise ValueError(
                f"layer {name!r} is not a noise target of scope {scope!r}; targets: {', '.join(targets)}"
            )
    return [n for n in targets if n in set(requested)]
