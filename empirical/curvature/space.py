"""The vector space curvature acts on: chosen parameters, flattened, optionally scaled by Σ₁^½.

A vector v of length ``dim`` stands for the parameter direction Σ₁^½ v, and an operator A on
parameters becomes Σ₁^½ A Σ₁^½ on this space, so its trace is tr(A Σ₁). Without a scale,
Σ₁^½ = I. Parameters absent from the scale are left out of the space (their rows of Σ₁^½ are 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class ParameterSpace:
    names: tuple[str, ...]
    params: tuple[nn.Parameter, ...]
    scale: Tensor | None  # flat Σ₁^½ diagonal, length dim, on the parameters' device and dtype

    @classmethod
    def build(cls, model: nn.Module, names: list[str], scale: dict[str, Tensor] | None) -> ParameterSpace:
        named = dict(model.named_parameters())
        if scale is not None:
            names = [n for n in names if n in scale]
        params = tuple(named[n] for n in names)
        flat = None
        if scale is not None:
            ref = params[0]
            flat = torch.cat([scale[n].reshape(-1) for n in names]).to(device=ref.device, dtype=ref.dtype)
        return cls(tuple(names), params, flat)

    @classmethod
    def union(cls, spaces: Sequence[ParameterSpace]) -> ParameterSpace:
        """The unscaled space of every parameter of ``spaces``, in the order they first appear."""
        named = {n: p for space in spaces for n, p in zip(space.names, space.params)}
        return cls(tuple(named), tuple(named.values()), None)

    @property
    def dim(self) -> int:
        return sum(p.numel() for p in self.params)

    @property
    def device(self) -> torch.device:
        return self.params[0].device

    @property
    def dtype(self) -> torch.dtype:
        return self.params[0].dtype

    def blocks(self) -> dict[str, slice]:
        """Coordinates of each parameter tensor (the diagonal blocks of the operator)."""
        out, start = {}, 0
        for name, p in zip(self.names, self.params):
            out[name] = slice(start, start + p.numel())
            start += p.numel()
        return out

    def slice_of(self, names: list[str]) -> slice:
        """Coordinates of consecutive parameters ``names`` (in this space's order)."""
        blocks = self.blocks()
        start, stop = blocks[names[0]].start, blocks[names[-1]].stop
        if sum(blocks[n].stop - blocks[n].start for n in names) != stop - start:
            raise ValueError(f"parameters {names} are not consecutive in {list(self.names)}.")
        return slice(start, stop)

    def subset(self, names: list[str]) -> ParameterSpace:
        """The same space restricted to ``names`` (kept in this space's order, scale sliced)."""
        keep = [n for n in self.names if n in set(names)]
        blocks = self.blocks()
        params = tuple(p for n, p in zip(self.names, self.params) if n in set(names))
        scale = None if self.scale is None else torch.cat([self.scale[blocks[n]] for n in keep])
        return ParameterSpace(tuple(keep), params, scale)

    def modules(self) -> dict[str, list[str]]:
        """Parameter names grouped by the module that owns them ("0.weight", "0.bias" -> "0")."""
        out: dict[str, list[str]] = {}
        for n in self.names:
            out.setdefault(n.rpartition(".")[0], []).append(n)
        return out

    def to_params(self, v: Tensor) -> list[Tensor]:
        """Flat vector (dim,) -> parameter-shaped tensors of the direction Σ₁^½ v."""
        if self.scale is not None:
            v = v * self.scale
        return [t.view_as(p) for t, p in zip(v.split([p.numel() for p in self.params]), self.params)]

    def from_params(self, tensors: list[Tensor]) -> Tensor:
        """Parameter-shaped tensors (e.g. H Σ₁^½ v) -> flat vector Σ₁^½ (...)."""
        flat = torch.cat([t.reshape(-1) for t in tensors])
        return flat if self.scale is None else flat * self.scale
