"""Tests for empirical.bench.curvature: its reference is exact, its JSON has the contract's keys."""

from __future__ import annotations

import copy

import pytest
import torch

from empirical.bench import curvature as bench_curvature
from tests.curvature.problems import problem


@pytest.mark.parametrize("name", ["relu_cnn", "mlp"])  # layers BackPACK's DiagHessian supports
def test_reference_is_the_exact_diagonal(name):
    p = problem(name)
    diag, how = bench_curvature.reference_diagonal(copy.deepcopy(p.model).float(), p.x.float(), p.y, chunk=20)
    assert how.startswith("exact: BackPACK")
    flat = torch.cat([d.reshape(-1) for d in diag.values()])
    torch.testing.assert_close(flat, p.H.diagonal(), rtol=1e-5, atol=1e-8)  # float32 inputs
    diag, _ = bench_curvature.reference_diagonal(p.model, p.x, p.y, chunk=20)
    scale = p.scale()
    exact = (p.flat_scale(scale).square() * p.H.diagonal()).sum().item()
    assert bench_curvature.weighted_trace(diag, scale) == pytest.approx(exact, rel=1e-10)
    assert bench_curvature.weighted_trace(diag) == pytest.approx(p.H.trace().item(), rel=1e-10)


def test_reference_falls_back_where_backpack_lacks_a_layer():
    p = problem("cnn")  # GELU
    diag, how = bench_curvature.reference_diagonal(p.model, p.x, p.y)
    assert how.startswith("exact: Hessian diagonal by 100 unit-vector products") and "BackPACK" in how
    torch.testing.assert_close(torch.cat([d.reshape(-1) for d in diag.values()]), p.H.diagonal())


def test_benchmark_writes_the_contract_keys():
    p = problem("relu_cnn")
    model = copy.deepcopy(p.model)
    scale_fn = lambda m: {n: 0.1 * t.detach().abs() for n, t in m.named_parameters() if n.endswith("weight")}  # noqa: E731
    result = bench_curvature.benchmark(
        [("tiny", 0.1, model)], p.x, p.y, scale_fn, repeats=2, target=0.05, methods=("gn", "hutchinson"),
        pilot=10, device=torch.device("cpu"), log=lambda _: None,
    )  # fmt: skip
    names = [m["name"] for m in result["methods"]]
    assert names[1:] == ["pyhessian, defaults", "ours gn", "ours hutchinson", "ours gn, tr(HΣ₁)"]
    for m in result["methods"]:
        assert {"name", "matvecs", "seconds", "rel_error", "se", "repeats"} <= set(m) and m["repeats"] == 2
    assert result["speedup_at_1pct"] > 0 and result["se_coverage"] == 1.0  # gn is certified exact here
    assert "speedup_at_1pct" in bench_curvature.table(result)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--repeats", "0"], "--repeats 0 must be >= 1"),
        (["--methods", "gn,power"], "--methods 'gn,power'"),
        (["--target", "2"], "--target 2.0 must be in (0, 1)"),
        (["--lrs", "0.1,-1"], "learning rates must be > 0"),
    ],
)
def test_bad_arguments_exit_2(args, message, capsys):
    assert bench_curvature.main(args) == 2
    assert message in capsys.readouterr().err
