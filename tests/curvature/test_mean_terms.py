"""gᵀμ and μᵀHμ against the dense gradient and Hessian of a tiny network."""

import math

import pytest
import torch
from torch import nn

from empirical.curvature.mean_terms import mean_terms


def _tiny():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(10, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (10,), generator=g)
    return model, x, y


def test_mean_terms_equal_the_dense_gradient_and_hessian():
    model, x, y = _tiny()
    names = ["0.weight", "2.weight"]
    params = dict(model.named_parameters())
    g = torch.Generator().manual_seed(2)
    mean = {n: torch.randn(params[n].shape, generator=g, dtype=torch.float64) for n in names}
    shapes = [params[n].shape for n in names]
    sizes = [params[n].numel() for n in names]

    def loss(flat: torch.Tensor) -> torch.Tensor:
        chunks = dict(zip(names, (c.view(s) for c, s in zip(flat.split(sizes), shapes))))
        full = {**{n: p.detach() for n, p in params.items()}, **chunks}
        return nn.functional.cross_entropy(torch.func.functional_call(model, full, (x,)), y)

    w = torch.cat([params[n].detach().flatten() for n in names])
    mu = torch.cat([mean[n].flatten() for n in names])
    grad = torch.autograd.functional.jacobian(loss, w)
    hess = torch.autograd.functional.hessian(loss, w)
    g_mu, mu_h_mu = mean_terms(model, x, y, mean, batch_size=4)  # three chunks
    assert math.isclose(g_mu, float(grad @ mu), rel_tol=1e-10)
    assert math.isclose(mu_h_mu, float(mu @ hess @ mu), rel_tol=1e-10)


def test_a_mean_for_a_name_that_is_not_a_parameter_is_refused():
    model, x, y = _tiny()
    with pytest.raises(ValueError, match="nope"):
        mean_terms(model, x, y, {"nope": torch.zeros(3)})
