"""τ² per unit exactly, without probes, where every site's pre-activation is at most three layers deep.

τ²_u = Σ_i Σ₁,ii (∂a_u/∂w_i)² is the variance of a pre-activation's first-order change under the
noise at η = 1 (``kinks_probes``). Where the sites form chains (``kinks_units.Site.parent``),

    a_s = ℓ_s(σ_p(a_p)),   a_p = ℓ_p(σ_f(a_f)),   a_f = ℓ_f(x),   x the model's input,

with ℓ Linear (2-D input) or Conv1d (one group, zero padding) modules, every noisy parameter upstream
of a_s is in ℓ_s, ℓ_p or ℓ_f, and their parts of τ² add (each parameter's noise is independent).
The own layer's part is ``kinks_units.OwnLayer.variance``. For an upstream layer ℓ_u (ℓ_p or ℓ_f):
a 1-D convolution is a[c, q] = Σ_m W[c, m] X[q, m] + b[c], X[q] the window (patch) of its input at
output position q (a Linear: one position). Noise on ℓ_u's row c moves only channel c of a_u, by
the same weights at every position, so with J = ∂a_s[o, l]/∂a_u (nonzero on a window of positions
P[l, α] of each channel; α runs over ℓ_s's kernel, and ℓ_p's too for ℓ_f)

    Var_u(a_s[o, l]) = Σ_c Σ_{α,β} J[o, l, c, α] J[o, l, c, β] K_c[P[l, α], P[l, β]],
    K_c[q, r] = Σ_m S[c, m] X[q, m] X[r, m] + S_b[c],

S and S_b Σ₁'s diagonal on ℓ_u's weight row c and bias: a Gram matrix per channel. One layer back,
J[o, l, c_p, j] = W_s[o, c_p, j] σ_p'(a_p[c_p, q_s(l, j)]) is weights times slopes, so the quadratic
form is one matrix product over (c_p, j, j') (``_previous``). Two back,
J[o, l, c_f, (j, j')] = Σ_{c_p} J[o, l, c_p, j] W_p[c_p, c_f, j'] σ_f'(a_f[c_f, q_p(q_s(l, j), j')]),
and since ℓ_f's windows are short (the input's), the unit's gradient Y = J X with respect to ℓ_f's
row c is cheaper than the Gram form: Var_f = Σ_{c,m} S[c, m] Y[c, m]² (``_first_squares``, one Y for
every Σ₁). q(l, j) = stride·l + dilation·j − padding is the input position of output l's
kernel entry j. On the MNIST-1D CNN (100 test samples, 1 thread, every parameter noisy) the Jacobian
and gradients two layers back take about 0.1 s, the Gram parts 0.02 s.

Deeper chains, other modules or broken chains (a residual addition, batch norm between a layer and
its activation) return None: the caller then samples τ² by probes (``kinks_probes``). On the MNIST-1D
CNN and the MLP every site qualifies. Checked against a dense Jacobian in
``tests/curvature/test_kinks_chain.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from empirical.curvature.frozen_activations import slopes
from empirical.curvature.kinks_units import OwnLayer, Site

# bound on the entries of ℓ_p's tangents in one pass of ``_first_squares`` (2 MiB in float32): on the
# 2-core CPU, 2**24 (a batch of 100 samples of the MNIST-1D CNN at once) took 2.5x as long
CHUNK_ELEMENTS = 2**19


@dataclass(frozen=True)
class _Conv:
    """A Linear or Conv1d module as a[b, o, l] = Σ_{c,j} W[o, c, j] x[b, c, q(l, j)] + bias[o], W (O, C, k)."""

    weight: Tensor
    stride: int
    padding: int
    dilation: int
    names: dict[str, str]  # the module's parameter name -> the model's

    def index(self, length: int) -> tuple[Tensor, Tensor]:
        """(positions q(l, j) (L_out, k) into an input of ``length``, clamped; 1.0 where inside, else 0.0)."""
        k = self.weight.shape[2]
        out = (length + 2 * self.padding - self.dilation * (k - 1) - 1) // self.stride + 1
        q = self.stride * torch.arange(out)[:, None] + self.dilation * torch.arange(k)[None, :] - self.padding
        inside = (q >= 0) & (q < length)
        device = self.weight.device
        return q.clamp(0, length - 1).to(device), inside.to(device=device, dtype=self.weight.dtype)

    def windows(self, x: Tensor) -> Tensor:
        """The input's window at every output position: x (B, C, L_in) -> (B, L_out, C·k), zero outside."""
        q, inside = self.index(x.shape[-1])
        return (x[:, :, q] * inside).permute(0, 2, 1, 3).flatten(2)

    def noise(self, scale: dict[str, Tensor]) -> Tensor:
        """Σ₁^½ per output channel and window entry, the bias last: (O, C·k + 1), 0 where noise-free."""
        weight = scale.get(self.names["weight"]) if "weight" in self.names else None
        bias = scale.get(self.names["bias"]) if "bias" in self.names else None
        w = torch.zeros_like(self.weight.flatten(1)) if weight is None else weight.reshape(len(self.weight), -1)
        b = torch.zeros(len(self.weight), dtype=w.dtype, device=w.device) if bias is None else bias
        return torch.cat([w.to(self.weight.dtype), b.to(self.weight.dtype)[:, None]], 1)


def _conv(own: OwnLayer | None) -> _Conv | None:
    """The own layer as a 1-D convolution, or None when it is neither a Linear on (B, C) nor a plain Conv1d."""
    if own is None:
        return None
    m = own.module
    w = m.weight.detach()
    if type(m) is nn.Linear and own.inputs.ndim == 2:
        return _Conv(w[:, :, None], 1, 0, 1, own.names)
    if type(m) is nn.Conv1d and m.groups == 1 and m.padding_mode == "zeros" and isinstance(m.padding, tuple):
        return _Conv(w, m.stride[0], m.padding[0], m.dilation[0], own.names)
    return None


def _columns(x: Tensor) -> Tensor:
    """(B, C) -> (B, C, 1); (B, C, L) unchanged."""
    return x[..., None] if x.ndim == 2 else x


def chains(sites: list[Site]) -> list[tuple[int | None, int | None]] | None:
    """Per site, (parent p, grandparent f) indices: (None, None) when its own layer's input is fixed,
    (p, None) when p's is; None when any site is not such a chain of at most three qualifying layers."""
    if any(_conv(s.own) is None for s in sites):
        return None
    out = []
    for s in sites:
        assert s.own is not None
        if s.own.fixed:
            out.append((None, None))
            continue
        p = s.parent
        if p is None:
            return None
        parent = sites[p].own
        assert parent is not None
        if parent.fixed:
            out.append((p, None))
            continue
        f = sites[p].parent
        if f is None or not sites[f].own.fixed:  # type: ignore[union-attr]
            return None
        out.append((p, f))
    return out


def chain_variances(sites: list[Site], scales: Sequence[dict[str, Tensor]]) -> list[list[Tensor]] | None:
    """τ² per unit, exact, for each Σ₁^½ of ``scales`` (outer list) and every site (inner list, each its
    pre-activations' shape); None where ``chains`` is None.

    ``sites`` from ``kinks_units.clean_pass`` of one batch; a scale maps noisy parameters (model names)
    to Σ₁^½, parameters absent get no noise. Each layer's part of τ² is linear in that layer's Σ₁, so
    scales whose Σ₁ on a layer are multiples of each other (layer-relative and additive noise, a layer
    alone: ``_shares``) share its computation; the slopes and the gradients two layers back serve
    every scale. Memory: ℓ_p's tangents in chunks of ``CHUNK_ELEMENTS`` entries (at least one sample), their
    images under ℓ_s, and the sums, patterns × batch × O_s × L_s entries.
    """
    links = chains(sites)
    if links is None:
        return None
    convs = [_conv(s.own) for s in sites]
    owns = [s.own for s in sites]
    variances = [[conv.noise(scale).square() for scale in scales] for conv in convs]  # type: ignore[union-attr]
    shares = [_shares(v) for v in variances]
    upstream = sorted({j for link in links for j in link if j is not None})
    slope = {j: _columns(slopes(sites[j].module, sites[j].pre)[0]) for j in upstream}
    out: list[list[Tensor]] = [[] for _ in scales]
    with torch.no_grad():
        grams = {(j, r): _gram(convs[j], owns[j], variances[j][r])  # type: ignore[arg-type]
                 for j in upstream for r in _patterns(shares[j])}  # fmt: skip
        for i, (p, f) in enumerate(links):
            own, conv = owns[i], convs[i]
            assert own is not None and conv is not None
            parts = [(shares[i], {r: own.variance(scales[r]) for r in _patterns(shares[i])})]
            if p is not None:
                parts.append((shares[p], {r: _previous(conv, grams[p, r], slope[p]) for r in _patterns(shares[p])}))
            if f is not None and (patterns := _patterns(shares[f])):
                conv_p, conv_f, own_f = convs[p], convs[f], owns[f]  # type: ignore[index]
                assert conv_p is not None and conv_f is not None and own_f is not None
                sums = _first_squares(conv, conv_p, conv_f, own_f, slope[p], slope[f],  # type: ignore[index]
                                      torch.stack([variances[f][r] for r in patterns]))  # fmt: skip
                parts.append((shares[f], dict(zip(patterns, sums))))
            for k in range(len(scales)):
                tau2 = torch.zeros_like(sites[i].pre)
                for share, values in parts:
                    if share[k] is not None:
                        r, factor = share[k]  # type: ignore[misc]
                        tau2 = tau2 + (values[r] if r == k else factor * values[r]).reshape(tau2.shape)
                out[k].append(tau2)
    return out


def _shares(variances: list[Tensor]) -> list[tuple[int, float] | None]:
    """Per scale, one layer's Σ₁ (``variances``, each (C, M + 1)) as (r, c): c times that of scale r, the
    first with a multiple of it (r = k, c = 1 for the first); None where the layer is noise-free."""
    out: list[tuple[int, float] | None] = []
    for k, v in enumerate(variances):
        share = None if not v.any() else (k, 1.0)
        for r in _patterns(out) if share is not None else ():
            ref = variances[r]
            at = int(ref.flatten().argmax())
            factor = float(v.flatten()[at] / ref.flatten()[at])
            if torch.allclose(v, factor * ref, rtol=4 * torch.finfo(v.dtype).eps, atol=0.0):
                share = r, factor
                break
        out.append(share)
    return out


def _patterns(shares: list[tuple[int, float] | None]) -> list[int]:
    """The scales whose Σ₁ on the layer is computed (the others are multiples of theirs)."""
    return [k for k, share in enumerate(shares) if share is not None and share[0] == k]


def _patches(conv: _Conv, own: OwnLayer) -> Tensor:
    """The layer's input windows with a 1 appended for the bias (whose derivative is 1 everywhere): (B, L, M + 1)."""
    x = conv.windows(_columns(own.inputs))
    return torch.cat([x, torch.ones_like(x[..., :1])], 2)


def _gram(conv: _Conv, own: OwnLayer, variance: Tensor) -> Tensor:
    """K_c[q, r] of the module docstring for Σ₁'s diagonal ``variance`` (C, M + 1) on the layer (the bias
    last): (B, C, L, L) for its C output channels and L output positions (one K expanded over the
    channels when Σ₁ is the same on every row, as for layer-relative and additive noise)."""
    x = _patches(conv, own)
    if bool((variance == variance[:1]).all()):
        return torch.einsum("bqm,m,brm->bqr", x, variance[0], x)[:, None].expand(-1, len(variance), -1, -1)
    return torch.einsum("bqm,cm,brm->bcqr", x, variance, x)


def _previous(conv_s: _Conv, gram: Tensor, slope_p: Tensor) -> Tensor:
    """Var of a_s (B, O_s, L_s) from ℓ_p's noise: J = W_s σ_p' factorizes into weights and slopes, so the
    quadratic form is one product over (channel, kernel entry pairs)."""
    q, inside = conv_s.index(slope_p.shape[-1])  # (L_s, k)
    moved = slope_p[:, :, q] * inside  # (B, C, L_s, k): σ_p' at each window entry, 0 in the padding
    pairs = moved[..., :, None] * moved[..., None, :] * gram[:, :, q[:, :, None], q[:, None, :]]  # (B, C, L_s, k, k)
    w = conv_s.weight
    weights = (w[:, :, :, None] * w[:, :, None, :]).flatten(1)  # (O_s, C·k·k)
    return (pairs.permute(0, 2, 1, 3, 4).flatten(2) @ weights.T).transpose(1, 2)


def _first_squares(conv_s: _Conv, conv_p: _Conv, conv_f: _Conv, own_f: OwnLayer, slope_p: Tensor,
                   slope_f: Tensor, variances: Tensor) -> Tensor:  # fmt: skip
    """Var_f of a_s, Σ_{c,m} V[c, m] (∂a_s/∂θ_f[c, m])², for each Σ₁ diagonal V of ``variances``
    (G, C_f, M + 1) on ℓ_f's weight row c and window entry m (the bias last): (G, B, O_s, L_s). One
    direction per parameter noisy in some V, X[q, m] in channel c of a_f, pushed through σ_f', ℓ_p, σ_p'
    and ℓ_s's linear maps. ℓ_p sees the one channel of each direction (a product per channel); ℓ_s runs
    as one convolution of every direction; the squares are summed chunk by chunk."""
    live = variances.sum((0, 1)) > 0  # window entries noisy in some row of some V (M + 1,)
    x = _patches(conv_f, own_f)[..., live]  # (B, L_f, M')
    weights = variances[..., live].flatten(1)  # (G, C_f·M')
    channels, entries = slope_f.shape[1], x.shape[2]
    q, inside = conv_p.index(x.shape[1])  # ℓ_p's windows over a_f's positions (L_p, k_p)
    outputs = conv_p.weight.shape[0]
    chunk = max(1, CHUNK_ELEMENTS // (channels * entries * outputs * len(q)))
    w_p = conv_p.weight.permute(1, 2, 0)  # (C_f, k_p, O_p)
    parts = []
    for start in range(0, len(x), chunk):
        rows = slice(start, start + chunk)
        h = slope_f[rows][:, :, None, :] * x[rows].transpose(1, 2)[:, None]  # (B, C_f, M', L_f): σ_f' X in channel c
        moved = (h[..., q] * inside).transpose(0, 1)  # (C_f, B, M', L_p, k_p)
        batch = moved.shape[1]
        a_p = torch.bmm(moved.reshape(channels, -1, q.shape[1]), w_p).view(channels, batch, entries, len(q), outputs)
        h_p = torch.empty((batch, channels, entries, outputs, len(q)), dtype=x.dtype, device=x.device)
        torch.mul(a_p.permute(1, 0, 2, 4, 3), slope_p[rows][:, None, None], out=h_p)  # σ_p' applied, contiguous
        a_s = nn.functional.conv1d(h_p.view(-1, outputs, len(q)), conv_s.weight, None, conv_s.stride,
                                   conv_s.padding, conv_s.dilation)  # fmt: skip
        squares = a_s.square_().view(batch, channels * entries, -1)  # (B, C_f·M', O_s·L_s)
        parts.append(torch.einsum("bdu,gd->gbu", squares, weights).unflatten(2, a_s.shape[1:]))
    return torch.cat(parts, 1)
