"""Ground truth for τ²: each pre-activation's noise variance from a dense Jacobian; shared by the kink tests."""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, jacrev

from empirical.curvature.kinks_units import Site


def dense_unit_variances(
    model: nn.Module, x: torch.Tensor, sites: list[Site], scale: dict[str, torch.Tensor]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per site of ``clean_pass`` on x: τ² = Σ_i σ_i² (∂a/∂w_i)² per unit, by a dense Jacobian (jacrev) of
    every pre-activation over the parameters of ``scale``; and the part from parameters other than the
    site's own layer."""
    modules = list(dict.fromkeys(s.module for s in sites))

    def pre_activations(params):
        store = []
        hooks = [m.register_forward_pre_hook(lambda m, i: store.append(i[0].clone())) for m in modules]
        functional_call(model, params, (x,))
        for h in hooks:
            h.remove()
        return tuple(store)

    primals = {n: p.detach() for n, p in model.named_parameters() if n in scale}
    out = []
    for site, jac in zip(sites, jacrev(pre_activations)(primals)):
        own = set(site.own.names.values()) if site.own is not None else set()
        parts = {n: (j.square() * scale[n].square()).flatten(site.pre.ndim).sum(-1) for n, j in jac.items()}
        total = sum(parts.values(), torch.zeros_like(site.pre))
        out.append((total.detach(), sum((v for n, v in parts.items() if n not in own), torch.zeros_like(total)).detach()))
    return out
