"""Argument checks at the door: each raises ``ValueError`` naming the bad value and what is accepted."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def model_(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module. Got {type(model).__name__}.")
    if not any(True for _ in model.parameters()):
        raise ValueError(f"model has no parameters: {type(model).__name__}.")
    return model


def data(x: object, y: object) -> tuple[Tensor, Tensor]:
    """(x, y) of one split: x (N, ...) floating, y (N,) integer class indices, N >= 1."""
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise ValueError(f"x and y must be tensors. Got {type(x).__name__} and {type(y).__name__}.")
    if x.ndim < 1 or len(x) < 1:
        raise ValueError(f"x must hold at least one sample, shape (N, ...). Got shape {tuple(x.shape)}.")
    if not x.is_floating_point():
        raise ValueError(f"x must be floating point. Got dtype {x.dtype}.")
    if y.ndim != 1 or y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ValueError(
            f"y must be a 1-D tensor of integer class indices. Got shape {tuple(y.shape)}, dtype {y.dtype}."
        )
    if len(y) != len(x):
        raise ValueError(f"x and y must hold the same number of samples. Got {len(x)} and {len(y)}.")
    if y.min() < 0:
        raise ValueError(f"y must hold class indices >= 0. Got {y.min().item()}.")
    return x, y.long()


def param_names(model: nn.Module, params: object) -> list[str]:
    """Names from ``model.named_parameters()``; default: every parameter with ``requires_grad``."""
    named = dict(model.named_parameters())
    if params is None:
        names = [n for n, p in named.items() if p.requires_grad]
        if not names:
            raise ValueError("model has no trainable parameters (requires_grad is False everywhere).")
    else:
        if isinstance(params, str) or not all(isinstance(n, str) for n in params):
            raise ValueError(f"params must be a list of parameter names. Got {params!r}.")
        names = list(params)
        if not names:
            raise ValueError("params is empty; pass None for every trainable parameter.")
        unknown = [n for n in names if n not in named]
        if unknown:
            raise ValueError(f"unknown parameter names {unknown}; the model has {list(named)}.")
        if len(set(names)) != len(names):
            raise ValueError(f"params names a parameter twice: {names}.")
        frozen = [n for n in names if not named[n].requires_grad]
        if frozen:
            raise ValueError(f"parameters {frozen} have requires_grad=False; curvature needs gradients.")
    dtypes = {named[n].dtype for n in names}
    devices = {named[n].device for n in names}
    if len(dtypes) != 1 or len(devices) != 1:
        raise ValueError(f"parameters must share one dtype and device. Got {dtypes} and {devices}.")
    return names


def scale(model: nn.Module, names: list[str], scale: object) -> dict[str, Tensor] | None:
    """Σ₁^½ per parameter: a dict name -> tensor of the parameter's shape, finite and >= 0."""
    if scale is None:
        return None
    if not isinstance(scale, dict) or not scale:
        raise ValueError(f"scale must be a non-empty dict of parameter name -> tensor. Got {scale!r}.")
    named = dict(model.named_parameters())
    out = {}
    for name, s in scale.items():
        if name not in names:
            raise ValueError(
                f"scale names {name!r}, which is not among the parameters considered: {names}."
            )
        if not isinstance(s, Tensor) or s.shape != named[name].shape:
            got = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
            raise ValueError(
                f"scale[{name!r}] must be a tensor of the parameter's shape {tuple(named[name].shape)}. Got {got}."
            )
        if not torch.isfinite(s).all() or (s < 0).any():
            raise ValueError(f"scale[{name!r}] must be finite and >= 0 (a noise std). Got min {s.min().item()}.")
        out[name] = s.detach()
    # keep the model's parameter order so blocks come out in a stable order
    return {n: out[n] for n in names if n in out}


def positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0. Got {value!r}.")
    return float(value)


def nonnegative_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0. Got {value!r}.")
    return float(value)


def positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1. Got {value!r}.")
    return value


def generator(value: object) -> torch.Generator:
    if not isinstance(value, torch.Generator):
        raise ValueError(
            f"generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)). Got {value!r}."
        )
    return value


def choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(allowed)}.")
    return value  # type: ignore[return-value]
