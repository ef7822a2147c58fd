"""Tests for the estimators on explicit matrices: Hutchinson, Hutch++, XTrace, and the wrong operator.

The wrong-operator tests feed the Gauss–Newton matrix G to an estimator as if it were H: the
"within 4·se" check used throughout must then fail, or it would not be worth running.
"""

from __future__ import annotations

import pytest
import torch

from empirical.curvature.hutchinson import hutchinson
from empirical.curvature.hutchpp import hutchpp
from empirical.curvature.xtrace import xtrace
from tests.curvature.problems import SMOOTH, problem

F64 = dict(device=torch.device("cpu"), dtype=torch.float64)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def run_hutchinson(A, *, max_matvecs=100, exact_if_cheaper=False, seed=0):
    r = hutchinson(lambda V: A @ V, A.shape[0], blocks=[slice(0, A.shape[0])], offsets=torch.zeros(1),
                   rel_se=1e-9, abs_se=0.0, min_matvecs=10, max_matvecs=max_matvecs, generator=gen(seed),
                   exact_if_cheaper=exact_if_cheaper, **F64)  # fmt: skip
    return float(r.values[0]), float(r.ses[0])


def run(method, A, *, max_matvecs=90, seed=0):
    common = dict(offset=0.0, rel_se=1e-9, abs_se=0.0, min_matvecs=10, max_matvecs=max_matvecs, generator=gen(seed), **F64)
    if method == "hutchinson":
        return run_hutchinson(A, max_matvecs=max_matvecs, seed=seed)
    f = hutchpp if method == "hutchpp" else xtrace
    r = f(lambda V: A @ V, A.shape[0], **common, **({"sketch": 8} if method == "hutchpp" else {}))
    return r.value, r.se


@pytest.mark.parametrize("method", ["hutchinson", "hutchpp", "xtrace"])
@pytest.mark.parametrize("name", SMOOTH)
def test_right_operator_passes_wrong_operator_fails(method, name):
    p = problem(name)
    exact = p.H.trace().item()
    value, se = run(method, p.H)
    assert abs(value - exact) <= 4 * se
    value, se = run(method, p.G)  # Gauss–Newton matrix used as if it were H
    assert abs(value - exact) > 4 * se, (value, se, exact)


def test_wrong_operator_fails_even_when_computed_exactly():
    p = problem("mlp")
    value, se = run_hutchinson(p.G, max_matvecs=500, exact_if_cheaper=True)
    assert se == 0.0 and value == pytest.approx(p.G.trace().item())
    assert abs(value - p.H.trace().item()) > 4 * se + 1e-9


def test_deflation_captures_dominant_eigenvalues():
    # a few huge eigenvalues ruin plain Hutchinson but not Hutch++/XTrace
    g = gen(3)
    Q, _ = torch.linalg.qr(torch.randn(200, 200, generator=g, dtype=torch.float64))
    A = Q @ torch.diag(torch.cat([torch.tensor([1e4, 5e3, 2e3]), torch.rand(197, generator=g, dtype=torch.float64)])) @ Q.T
    exact = A.trace().item()
    _, se_plain = run("hutchinson", A, max_matvecs=60)
    for method in ("hutchpp", "xtrace"):
        value, se = run(method, A, max_matvecs=60)
        assert abs(value - exact) <= 4 * se and se < 0.1 * se_plain, method


def test_hutchpp_rejects_a_sketch_larger_than_the_budget():
    A = torch.eye(50, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"sketch 20 .*max_matvecs \(30\)"):
        hutchpp(lambda V: A @ V, 50, offset=0.0, rel_se=0.01, abs_se=0.0, min_matvecs=10, max_matvecs=30,
                sketch=20, generator=gen(), **F64)  # fmt: skip


def test_xtrace_error_estimate_is_calibrated():
    p = problem("cnn")
    exact = p.H.trace().item()
    runs = torch.tensor([run("xtrace", p.H, max_matvecs=40, seed=s) for s in range(40)])
    values, ses = runs[:, 0], runs[:, 1]
    assert 0.6 < values.std().item() / ses.mean().item() < 1.5
    assert ((values - exact).abs() <= 2 * ses).double().mean().item() >= 0.8
