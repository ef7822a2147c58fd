"""τ² per unit: the variance of a pre-activation's first-order change under weight noise at η = 1.

For unit k (sample n), τ²_nk = J Σ₁ Jᵀ with J = ∂a_nk/∂w over the noisy parameters (noise in the
unit's own layer and in every layer upstream). With directions v = Σ₁^½ z, z ~ N(0, I), the
forward-mode derivative u = J v is N(0, τ²) (Rademacher z, ``smooth_residual``'s choice: mean 0,
variance τ² as well), so

    τ̂² = own + (1/P) Σ_p w_p²,   w_p = J v_p − (own layer's part of J v_p),

is unbiased for P probes; ``own`` is the exact own-layer variance of ``kinks_units.OwnLayer`` (0 and
w = u where a site has none). Own and upstream noise are independent, so the split only removes
noise from the estimate: τ̂²'s variance is 2 τ_up⁴ / P instead of 2 τ⁴ / P. All P directions go
through one vmapped ``torch.func.jvp`` of the model (``functional_call``): about 4 forward passes of
the batch per probe on the CPU, the own layers' parts included. A site whose own layer's input
depends on no parameter (the first layer's: ``OwnLayer.fixed``) has w = 0 exactly and no probe
squares at all. (Applying the own layer's clean weight to its input's tangent instead of subtracting
its own part was tried: that convolution of all P·B tangents took 13 ms against 10 ms for the P
own parts, on the default preset's CNN at B = 100, P = 32.)
"""

from __future__ import annotations

from collections.abc import Collection

import torch
from torch import Tensor, nn
from torch.func import functional_call, jvp, vmap

from empirical.curvature import forward_mode
from empirical.curvature.kinks_units import Site, pre_activation


def directions(
    scale: dict[str, Tensor], probes: int, generator: torch.Generator, *, rademacher: bool = False
) -> dict[str, Tensor]:
    """v = Σ₁^½ z for ``probes`` z ~ N(0, I) (or i.i.d. ±1 entries if ``rademacher``: E[zzᵀ] = I either
    way): (probes, *shape) per scaled parameter, drawn in float64 on the generator's device (in
    ``scale``'s order), returned in each scale's dtype and device."""
    out = {}
    for name, s in scale.items():
        z = torch.randn((probes, *s.shape), generator=generator, device=generator.device, dtype=torch.float64)
        if rademacher:
            z = z.sign()
        out[name] = z.to(device=s.device, dtype=s.dtype) * s
    return out


def probe_squares(
    model: nn.Module, x: Tensor, modules: Collection[nn.Module], sites: list[Site], direction: dict[str, Tensor]
) -> list[Tensor | None]:
    """Per site, w_p² for every probe: (P, B, ...), P the leading size of ``direction``'s tensors; None for a
    site whose own layer's input depends on no parameter (``OwnLayer.fixed``: w = 0, nothing upstream).

    ``sites`` from ``kinks_units.clean_pass`` on the same batch x with the same activation
    ``modules``; the model in eval mode.
    """
    forward_mode.prepare()
    params = dict(model.named_parameters())
    primals = {n: params[n].detach() for n in direction}
    moving = [i for i, s in enumerate(sites) if s.own is None or not s.own.fixed]

    def pre_activations(p: dict[str, Tensor]) -> tuple[Tensor, ...]:
        store: list[Tensor] = []
        hooks = [m.register_forward_pre_hook(lambda m, i: store.append(pre_activation(m, i))) for m in modules]
        try:
            functional_call(model, p, (x,))
        finally:
            for h in hooks:
                h.remove()
        return tuple(store[i] for i in moving)

    def one(v: dict[str, Tensor]) -> tuple[Tensor, ...]:
        _, tangents = jvp(pre_activations, (primals,), (v,))
        own = [sites[i].own for i in moving]
        return tuple(u if o is None else u - o.perturbation(v) for u, o in zip(tangents, own))

    squares: list[Tensor | None] = [None] * len(sites)
    if moving:
        with torch.no_grad():
            for i, w in zip(moving, vmap(one)(direction)):
                squares[i] = w.square()
    return squares


def unit_variances(site: Site, squares: Tensor | None, scale: dict[str, Tensor]) -> Tensor:
    """τ̂² per unit of the site (its pre-activations' shape): the exact own-layer variance (where the
    site has an own layer) plus the mean over probes of ``squares`` (from ``probe_squares``; None: 0)."""
    if squares is None:
        assert site.own is not None
        return site.own.variance(scale)
    upstream = squares.mean(0)
    return upstream if site.own is None else upstream + site.own.variance(scale)
