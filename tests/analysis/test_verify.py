"""Tests for empirical.verify: the comparison arithmetic, exact cases where theory and measurement
must agree (a quadratic loss; a smooth network at small noise), the Spearman and sweet-spot
bookkeeping on constructed data, and the CLI on a small synthetic results folder."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from empirical.experiment import evaluate
from empirical.sweep import store
from empirical.analysis import verification as verify
from empirical.curvature import fourth_moment
from empirical.sweep.store import NOISE_COLUMNS, RUNS_COLUMNS
from empirical.experiment.run import torch_threads
from tests.curvature.problems import problem
from theory import predict

F64 = torch.float64
LRS = (0.01, 0.03, 0.1, 0.3)
SEEDS = (0, 1, 2)
LEVELS = (0.01, 0.05, 0.2)
CONTRACT_ORDER = ("run_id", "lr", "seed", "noise_level", "measured", "measured_se", "predicted", "predicted_se",
                  "ratio", "ratio_ci_low", "ratio_ci_high")  # fmt: skip


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- synthetic results


def synthetic_records() -> list[dict]:
    """Run records of a 4-lr × 3-seed sweep plus one diverged run; numbers shaped like the real ones.

    tr(HΣ₁) grows with lr and ΔL follows it (with a fourth-order term); tr(H) falls with lr, so the
    Spearman correlations are +1 (noise trace) and −1 (trace); noisy accuracy peaks at lr 0.03.
    """
    records = []
    for i, lr in enumerate(LRS):
        for seed in SEEDS:
            run_id = f"lr{lr:g}_seed{seed}"
            nt, tr, m4 = 5.0 + 4 * i + 0.1 * seed, 80.0 - 10 * i - 0.1 * seed, 500.0 * (i + 1)
            clean_loss, clean_acc = 0.30 - 0.02 * i + 0.001 * seed, 0.90 + 0.01 * i
            metrics = {
                "run_id": run_id, "lr": lr, "seed": seed, "status": "ok", "epochs": 20,
                "train_loss": 0.1, "train_acc": 0.97, "test_loss": clean_loss, "test_acc": clean_acc,
                "hessian_trace_train": tr, "hessian_trace_train_se": 0.5, "hessian_trace_test": tr,
                "hessian_trace_test_se": 0.5, "noise_trace_test": nt, "noise_trace_test_se": 0.05 * (1 + i),
                "lambda_max_train": 10.0, "lambda_max_residual": 0.01, "stability_bound": 3.8 / lr,
                "weight_norm": 10.0 + i, "train_seconds": 1.0, "curvature_seconds": 1.0, "noise_seconds": 1.0,
                "fourth_moment_test": m4, "fourth_moment_test_se": 0.3 * m4, "fourth_moment_draws": 6,
                "grad_cov_grad_test": 0.05 + 0.01 * i, "hsigma_sq_trace_test": 6.0, "hsigma_sq_trace_test_se": 1.0,
                "fourth_order_seconds": 0.5, "variance_terms_seconds": 0.5,
            }  # fmt: skip
            noise_rows = []
            for eta in LEVELS:
                dl = 0.5 * eta**2 * nt * (1 + 0.02 * seed) + eta**4 * m4 / 24
                std = math.sqrt(eta**2 * metrics["grad_cov_grad_test"] + 0.5 * eta**4 * 6.0) * (1 + 0.03 * seed)
                acc = 0.8 + (0.05 if i == 1 else 0.0) - 0.1 * eta * i - 0.001 * seed
                noise_rows.append({
                    "run_id": run_id, "lr": lr, "seed": seed, "noise_model": "layer-relative", "noise_level": eta,
                    "samples": 64, "clean_loss": clean_loss, "noisy_loss_mean": clean_loss + dl, "delta_loss": dl,
                    "delta_loss_se": 0.03 * dl, "delta_loss_std": std, "predicted_delta_loss": 0.5 * eta**2 * nt,
                    "clean_acc": clean_acc, "noisy_acc_mean": acc, "noisy_acc_std": 0.01, "noisy_acc_se": 0.001,
                    "normalized_acc": acc / clean_acc,
                })  # fmt: skip
            records.append({"run_id": run_id, "status": "ok", "lr": lr, "seed": seed, "activation": "relu",
                            "metrics": metrics, "noise": noise_rows})  # fmt: skip
    diverged = {"run_id": "lr1_seed0", "lr": 1.0, "seed": 0, "status": "diverged", "epochs": 3,
                "test_loss": math.nan, "test_acc": 0.1}  # fmt: skip
    records.append({"run_id": "lr1_seed0", "status": "diverged", "lr": 1.0, "seed": 0, "activation": "relu",
                    "metrics": diverged,
                    "noise": [{"noise_level": eta, "run_id": "lr1_seed0", "lr": 1.0, "seed": 0}
                              for eta in LEVELS]})  # fmt: skip
    return records


def write_folder(out: Path, records: list[dict]) -> Path:
    for r in records:
        store.write_json(out / "runs" / r["run_id"] / "run.json", r)
    store.write_csv(out / "runs.csv", store.run_rows(records), RUNS_COLUMNS)
    store.write_csv(out / "noise.csv", store.noise_rows(records), NOISE_COLUMNS)
    store.write_json(out / "config.json", {"sweep": {"activation": "relu"}})
    return out


def rows(records: list[dict]) -> tuple[list[dict], list[dict]]:
    return store.run_rows(records), store.noise_rows(records)


# ----------------------------------------------------------------------------- arithmetic


def test_compare_is_the_delta_method():
    r = verify.compare(2.0, 0.1, 1.0, 0.05)
    se = math.sqrt(0.1**2 + 2.0**2 * 0.05**2)
    assert r["ratio"] == 2.0 and r["ratio_se"] == pytest.approx(se)
    assert (r["ratio_ci_low"], r["ratio_ci_high"]) == pytest.approx((2 - 1.959964 * se, 2 + 1.959964 * se))
    assert not r["ci_contains_1"] and not r["within_10pct"] and r["rel_error"] == pytest.approx(-0.5)
    near = verify.compare(1.0, 0.01, 1.05, 0.0)  # prediction 5% above: within 10%, CI excludes 1
    assert near["within_10pct"] and near["compatible_10pct"] and not near["ci_contains_1"]
    assert not verify.compare(1.0, 0.01, 1.2, 0.0)["compatible_10pct"]
    for p in (0.0, -1.0, math.nan):
        bad = verify.compare(1.0, 0.1, p, 0.1)
        assert math.isnan(bad["ratio"]) and not bad["ci_contains_1"]


def test_breakdown_level_is_the_last_level_of_the_first_good_run():
    assert verify.breakdown_level([0.2, 0.01, 0.05], [False, True, True]) == 0.05
    assert verify.breakdown_level([0.01, 0.05, 0.2], [True, False, True]) == 0.01
    assert verify.breakdown_level([0.01, 0.05], [False, True]) is None
    assert verify.breakdown_level([0.01, 0.05], [True, True]) == 0.05


def test_spearman_rows_match_scipy():
    from scipy import stats

    g = np.random.default_rng(0)
    a, b = g.normal(size=(5, 7)), g.normal(size=(5, 7))
    b[0] = a[0] ** 3  # monotone: ρ = 1
    got = verify.spearman_rows(a, b)
    want = [stats.spearmanr(x, y).statistic for x, y in zip(a, b)]
    assert got == pytest.approx(want) and got[0] == pytest.approx(1.0)
    assert math.isnan(verify.spearman_rows(np.ones((1, 4)), a[:1, :4])[0])


# ----------------------------------------------------------------------------- exact agreement


def test_quadratic_loss_ratio_is_one_within_error():
    """L(w) = gᵀw + ½ wᵀAw: E[ΔL] = ½η² tr(AΣ₁) exactly, and the verification must say so."""
    g_ = gen(1)
    d = 30
    B = torch.randn(d, d, generator=g_, dtype=F64)
    A, g = B @ B.T / d, 0.2 * torch.randn(d, generator=g_, dtype=F64)
    s = 0.5 + torch.rand(d, generator=g_, dtype=F64)
    loss = lambda u: u @ g + 0.5 * ((u @ A) * u).sum(-1)  # noqa: E731
    S_A_S = s[:, None] * A * s[None, :]
    # tr(AΣ₁) by Hutchinson, with its standard error (as the sweep's trace estimates come)
    probes = torch.randint(0, 2, (200, d), generator=gen(2)).to(F64) * 2 - 1
    samples = ((probes @ S_A_S) * probes).sum(1)
    trace, trace_se = float(samples.mean()), float(samples.std() / math.sqrt(len(samples)))
    m4 = fourth_moment(lambda p: loss(p["w"]), {"w": torch.zeros(d, dtype=F64)}, {"w": s}, draws=4, generator=gen(3))
    assert m4.value == 0.0 and m4.se == 0.0  # a quadratic has no fourth derivative
    run = {"run_id": "q", "lr": 0.1, "seed": 0, "status": "ok", "noise_trace_test": trace,
           "noise_trace_test_se": trace_se, "fourth_moment_test": m4.value, "fourth_moment_test_se": m4.se,
           "grad_cov_grad_test": float((g * s).square().sum()), "hsigma_sq_trace_test": float(S_A_S.square().sum()),
           "hsigma_sq_trace_test_se": 0.0, "hessian_trace_test": float(A.trace())}  # fmt: skip
    noise_rows = []
    for eta in (0.01, 0.1, 1.0):
        z = torch.randn(5000, d, generator=gen(4), dtype=F64)
        e = eta * s * z
        w0 = torch.zeros(d, dtype=F64)
        plus, minus = loss(w0 + e), loss(w0 - e)
        pair = (plus + minus) / 2 - loss(w0)
        noise_rows.append({"run_id": "q", "lr": 0.1, "seed": 0, "noise_level": eta, "samples": 2 * len(z),
                           "delta_loss": float(pair.mean()), "delta_loss_se": float(pair.std() / math.sqrt(len(z))),
                           "delta_loss_std": float(torch.cat([plus, minus]).std()), "clean_loss": 0.0,
                           "noisy_loss_mean": float(pair.mean()), "clean_acc": 1.0, "noisy_acc_mean": 1.0})  # fmt: skip
    v = verify.build([run], noise_rows)
    assert len(v["second_order"]) == 3 and len(v["variance"]) == 3
    for r in v["second_order"]:
        assert r["ratio_ci_low"] <= 1 <= r["ratio_ci_high"] and r["ratio_se"] < 0.05, r
    for r2, r4 in zip(v["second_order"], v["fourth_order"]):
        assert r4["predicted"] == r2["predicted"] and r4["ratio"] == r2["ratio"]
    for r in v["variance"]:
        assert r["ratio_ci_low"] <= 1 <= r["ratio_ci_high"], r
    assert [b["second_order"] for b in v["breakdown"]] == [1.0]
    # a prediction off by Σ₁ vs Σ₁^½ (tr(A Σ₁^½)) would be caught at the same precision
    wrong = float((A.diagonal() * s).sum())
    r = v["second_order"][0]
    assert not verify.compare(r["measured"], r["measured_se"], float(predict.delta_loss_second_order(0.01, wrong)), 0.0)[
        "ci_contains_1"
    ]


def test_smooth_network_at_small_noise_matches_second_order():
    """The sweep's own Monte Carlo (empirical.experiment.evaluate) on a tanh MLP at η = 0.01 against the exact tr(HΣ₁)."""
    p = problem("mlp")
    scale = p.scale()
    exact = float((p.flat_scale(scale) ** 2 * p.H.diagonal()).sum())
    with torch_threads(1):
        level = evaluate.monte_carlo(p.model, p.x, p.y, scale, (0.01,), 1000, noise_seed=0, batch_size=100)[0]
    row = level.row()
    r = verify.compare(row["delta_loss"], row["delta_loss_se"], float(predict.delta_loss_second_order(0.01, exact)), 0.0)
    assert r["ratio_se"] < 0.05 and abs(r["ratio"] - 1) <= 4 * r["ratio_se"], r


# ----------------------------------------------------------------------------- bookkeeping


def test_build_on_synthetic_rows_has_every_contract_field():
    v = verify.build(*rows(synthetic_records()), activation="relu", bootstrap=300)
    ok_runs = len(LRS) * len(SEEDS)
    for key in ("second_order", "fourth_order"):
        assert len(v[key]) == ok_runs * len(LEVELS)  # the diverged run has no row
        for r in v[key]:
            assert all(f in r for f in CONTRACT_ORDER)
            assert all(math.isfinite(r[f]) for f in CONTRACT_ORDER if f != "run_id")
            assert r["ratio_ci_low"] < r["ratio"] < r["ratio_ci_high"]
    # ΔL was built as the fourth-order prediction: the fourth-order ratios are ~1, the second-order ones grow with η
    assert all(abs(r["ratio"] - 1) < 0.05 for r in v["fourth_order"])
    fits = {f["noise_level"]: f for f in v["second_order_fit"]}
    assert fits[0.2]["median_ratio"] > fits[0.01]["median_ratio"] > 1.0
    fit_keys = ("linear_slope", "linear_r2", "loglog_slope", "loglog_r2")
    assert all(math.isfinite(f[k]) for f in v["second_order_fit"] for k in fit_keys)
    assert {b["fourth_order"] for b in v["breakdown"]} == {0.2}
    assert len(v["spearman"]) == len(LEVELS) * 2 * 2
    for r in v["spearman"]:
        assert set(r) >= {"noise_level", "curvature", "target", "rho", "ci_low", "ci_high"}
        assert r["ci_low"] <= r["rho"] <= r["ci_high"]
    sp = {(r["noise_level"], r["curvature"], r["target"]): r for r in v["spearman"]}
    assert sp[(0.2, "noise_trace", "delta_loss")]["rho"] == pytest.approx(1.0)
    assert sp[(0.2, "trace", "delta_loss")]["rho"] == pytest.approx(-1.0)
    assert (sp[(0.2, "noise_trace", "delta_loss")]["ci_low"], sp[(0.2, "trace", "delta_loss")]["ci_high"]) == (1.0, -1.0)
    assert [s["noise_level"] for s in v["sweet_spot"]] == list(LEVELS)
    for s in v["sweet_spot"]:
        assert s["lrs"] == len(LRS) and s["seeds"] == len(SEEDS)  # the diverged lr 1.0 is no candidate
        assert set(s) >= {"noise_level", "predicted_lr", "measured_lr_loss", "measured_lr_acc"}
    assert len(v["variance"]) == ok_runs * len(LEVELS) and v["variance_fit"]
    assert v["ci_requirement"]["rows"] == ok_runs * 2 and v["verdict"]
    assert any("piecewise linear" in line for line in v["verdict"])
    again = verify.build(*rows(synthetic_records()), activation="relu", bootstrap=300)
    assert json.dumps(store._strict(again)) == json.dumps(store._strict(v))  # deterministic


def test_sweet_spot_counts_coincidence_and_grid_steps():
    records = synthetic_records()
    # noisy loss lowest at lr 0.1 (grid index 2); the prediction clean + ½η² tr(HΣ₁) lowest at lr 0.01
    for r in records:
        for row in r["noise"]:
            if r["status"] == "ok":
                row["noisy_loss_mean"] = 1.0 + abs(r["lr"] - 0.1) + 0.001 * r["seed"]
    v = verify.build(*rows(records), bootstrap=200)
    for s in v["sweet_spot"]:
        assert s["measured_lr_loss"] == 0.1 and s["measured_lr_acc"] == 0.03
        step = LRS.index(s["predicted_lr"]) - 2
        assert s["steps_loss"] == step
        assert s["bootstrap_coincide_loss"] == float(step == 0)
        assert s["bootstrap_within_one_step_loss"] == float(abs(step) <= 1)
        assert s["seeds_coincide_loss"] == float(step == 0)
    assert {s["predicted_lr"] for s in v["sweet_spot"]} != {0.1}  # the case tested is a miss


def test_ci_requirement_estimates_the_samples_needed():
    v = verify.build(*rows(synthetic_records()), bootstrap=10)
    req = v["ci_requirement"]
    small = [r for r in v["second_order"] if r["noise_level"] <= 0.05]
    assert req["max_half_width"] == pytest.approx(max(1.959964 * r["ratio_se"] for r in small), rel=1e-6)
    assert req["met"] == (req["max_half_width"] <= 0.1)
    # rerunning with the samples it asks for would meet the target: MC half-width ∝ 1/√samples
    r = max(small, key=lambda r: r["ratio_se"])
    mc = 1.959964 * r["measured_se"] / r["predicted"] * math.sqrt(64 / req["samples_needed"])
    trace = 1.959964 * r["ratio"] * r["predicted_se"] / r["predicted"]
    assert math.hypot(mc, trace) <= 0.1 + 1e-9


# ----------------------------------------------------------------------------- CLI and folders


def test_cli_on_a_synthetic_folder_prints_the_verdict_and_writes_json(tmp_path, capsys):
    out = write_folder(tmp_path / "res", synthetic_records())
    assert verify.main([str(out), "--json", str(tmp_path / "v.json"), "--bootstrap", "200"]) == 0
    text = capsys.readouterr().out
    for heading in ("Measured / predicted ΔL", "Breakdown", "Spread of ΔL", "Spearman ρ", "Sweet spot", "Verdict:"):
        assert heading in text
    written = json.loads((tmp_path / "v.json").read_text())
    for key in ("second_order", "fourth_order", "sweet_spot", "spearman", "variance", "breakdown", "verdict"):
        assert written[key], key
    direct = verify.build(*rows(synthetic_records()), activation="relu", bootstrap=200)
    assert written == json.loads(json.dumps(store._strict(direct)))
    assert verify.main([str(out), "--json", "-", "--bootstrap", "20"]) == 0
    assert json.loads(capsys.readouterr().out)["second_order"]


def test_csv_only_folder_gives_the_same_rows(tmp_path):
    out = write_folder(tmp_path / "res", synthetic_records())
    from_records = verify.build(*verify.load(out)[:2], bootstrap=50)
    shutil.rmtree(out / "runs")
    run_rows, noise_rows, activation = verify.load(out)
    assert activation == "relu"
    from_csv = verify.build(run_rows, noise_rows, bootstrap=50)
    for a, b in zip(from_records["second_order"], from_csv["second_order"], strict=True):
        assert a["run_id"] == b["run_id"] and a["ratio"] == pytest.approx(b["ratio"], rel=1e-12)
    with (out / "runs.csv").open() as f:
        assert {"fourth_moment_test", "hsigma_sq_trace_test"} <= set(csv.DictReader(f).fieldnames)


@pytest.mark.parametrize("case", ["missing", "file", "empty", "corrupt", "badflag"])
def test_bad_folder_exits_2_with_one_line(tmp_path, capsys, case):
    target = tmp_path / "res"
    args = [str(target)]
    if case == "file":
        target.write_text("x")
    elif case == "empty":
        target.mkdir()
    elif case == "corrupt":
        write_folder(target, synthetic_records())
        (target / "runs" / "lr0.1_seed0" / "run.json").write_text("{not json")
    elif case == "badflag":
        write_folder(target, synthetic_records())
        args += ["--bootstrap", "0"]
    assert verify.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("verify: error: ") and "\n" not in err


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        verify.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "RESULTS_DIR" in text and "--json" in text and "nothing is trained" in text
