"""The derived second-order formula on a tiny torch model, against its exact Hessian."""

import numpy as np
import pytest
import sympy as sp
import torch

from theory.derive import expected_increase
from theory.noise_models import NOISE_MODELS, unit_covariance
from theory.notation import layer_std
from theory.predict import delta_loss_second_order

X = [[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.2, -0.4]]
Y = [0.3, -0.5, 0.8, 0.1]
LAYERS = (1, 1, 1, 1, 2, 2)  # 2 x 2 hidden weight, then 2 output weights
WEIGHTS = torch.tensor([0.3, -0.8, 0.6, 0.2, 1.1, -0.7], dtype=torch.float64)


def torch_loss(flat: torch.Tensor) -> torch.Tensor:
    """Mean squared error of x ↦ vᵀ tanh(W x) with (W, v) = flat."""
    x, y = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    return ((torch.tanh(x @ flat[:4].reshape(2, 2).T) @ flat[4:] - y) ** 2).mean()


def sympy_loss(params: tuple[sp.Symbol, ...]) -> sp.Expr:
    """The same network and loss as `torch_loss`, symbolically."""
    hidden = sp.Matrix(2, 2, params[:4])
    outputs = [
        sum(params[4 + a] * sp.tanh(hidden[a, 0] * x[0] + hidden[a, 1] * x[1]) for a in range(2))
        for x in X
    ]
    return sum((out - y) ** 2 for out, y in zip(outputs, Y)) / len(X)


@pytest.mark.parametrize("model", NOISE_MODELS)
def test_second_order_matches_exact_hessian(model: str) -> None:
    params = sp.symbols("w_1:7", real=True)
    values = {
        **dict(zip(params, WEIGHTS.tolist())),
        layer_std(1): WEIGHTS[:4].std().item(),
        layer_std(2): WEIGHTS[4:].std().item(),
    }
    eta = 0.05
    cov1 = unit_covariance(model, params, LAYERS)
    derived = expected_increase(sympy_loss(params), params, eta**2 * cov1, order=2)
    hessian = torch.autograd.functional.hessian(torch_loss, WEIGHTS).numpy()
    cov1_numeric = np.array(cov1.subs(values), dtype=float)
    reference = 0.5 * eta**2 * np.trace(hessian @ cov1_numeric)
    assert float(derived.subs(values)) == pytest.approx(reference, rel=1e-10)
    noise_trace = np.trace(hessian @ cov1_numeric)
    assert delta_loss_second_order(eta, noise_trace) == pytest.approx(reference, rel=1e-12)
