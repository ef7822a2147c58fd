"""The terms of E[ΔL] that a noise mean μ adds: gᵀμ and μᵀHμ, exactly (noise with a mean, e.g. PCM drift)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from empirical.curvature import checks
from empirical.curvature.trace import eval_mode


def mean_terms(
    model: nn.Module, x: Tensor, y: Tensor, mean: dict[str, Tensor], *, batch_size: int = 1024
) -> tuple[float, float]:
    """(gᵀμ, μᵀHμ) of the mean cross-entropy over (x, y), g its gradient and H its Hessian at the weights.

    ``mean``: μ per parameter name, each of its parameter's shape (parameters left out have μ = 0).
    Exact: per chunk of ``batch_size`` samples one gradient and one Hessian-vector product Hμ by
    double backpropagation. Units: nats (μ in weight units).
    """
    checks.model_(model)
    x, y = checks.data(x, y)
    checks.positive_int("batch_size", batch_size)
    params = dict(model.named_parameters())
    unknown = [name for name in mean if name not in params]
    if unknown:
        raise ValueError(f"mean names {unknown} that are not parameters of the model")
    wrt = [params[name] for name in mean]
    mus = [m.to(p.device, p.dtype) for m, p in zip(mean.values(), wrt)]
    g_mu, mu_h_mu = 0.0, 0.0
    with eval_mode(model):
        for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
            loss = nn.functional.cross_entropy(model(xb), yb, reduction="sum") / len(y)
            grads = torch.autograd.grad(loss, wrt, create_graph=True)
            directional = sum((g * m).sum() for g, m in zip(grads, mus))
            h_mu = torch.autograd.grad(directional, wrt, allow_unused=True)
            g_mu += float(directional.detach())
            mu_h_mu += sum(float((h * m).double().sum()) for h, m in zip(h_mu, mus) if h is not None)
    return g_mu, mu_h_mu
