"""The sweep writes the analysis: theory terms in runs.csv, summary.json["analysis"], verdict printed."""

import csv
import json
import math

from empirical import hessian_sweep, verify


def test_sweep_writes_verification_and_prints_the_verdict(tiny_config, tmp_path, capsys):
    out = tmp_path / "res"
    assert hessian_sweep.main(["--preset", "smoke", "--config", str(tiny_config), "--out", str(out), "--executor", "serial"]) == 0
    printed = capsys.readouterr().out
    assert "Verdict:" in printed and printed.count("Sweet spot (lr)") == 1 and "- Answer:" in printed
    with (out / "runs.csv").open() as f:
        runs = {r["run_id"]: r for r in csv.DictReader(f)}
    ok, diverged = runs["lr0.05_seed0"], runs["lr1000_seed0"]
    for column in ("fourth_moment_test", "fourth_moment_test_se", "grad_cov_grad_test", "hsigma_sq_trace_test",
                   "hsigma_sq_trace_test_se"):  # fmt: skip
        assert math.isfinite(float(ok[column])) and diverged[column] == ""
    assert float(ok["fourth_moment_draws"]) >= 2 and float(ok["hsigma_sq_trace_test"]) > 0
    assert float(ok["kink_seconds"]) > 0 and diverged["kink_seconds"] == ""
    with (out / "noise.csv").open() as f:
        noise = [r for r in csv.DictReader(f) if r["run_id"] == "lr0.05_seed0"]
    for r in noise:  # the ReLU network's kink term, beside the Hessian's prediction; the CNN is a chain of
        assert float(r["kink_delta_loss"]) > 0 and float(r["kink_delta_loss_se"]) == 0  # layers: τ² exact
    record = json.loads((out / "runs" / "lr0.05_seed0" / "run.json").read_text())
    assert [len(r["pair_increase"]) for r in record["noise"]] == [2, 2]  # samples = 4: two antithetic pairs each
    assert record["curvature"]["kink_test"]["probes"] == 0
    summary = json.loads((out / "summary.json").read_text())
    bound = {a["lr"]: a["stability_bound"]["mean"] for a in summary["per_lr"]}
    assert bound[1000.0] == float(diverged["stability_bound"]) > 0  # known for the diverged lr too
    a = summary["analysis"]
    (v,) = a["noise_models"]
    assert {r["run_id"] for r in v["second_order"]} == {"lr0.05_seed0"} and len(v["fourth_order"]) == 2
    assert [s["noise_level"] for s in v["sweet_spot"]] == [0.05, 0.2]
    assert len(v["with_kinks"]) == 2 and v["kinks"]["state"] == "measured" and v["kinks"]["pooling"] == "draw by draw"
    assert "Kink term (noise at the activation kinks" in printed
    # the CLI on the same folder gives the same analysis
    assert verify.main([str(out), "--json", str(tmp_path / "v.json")]) == 0
    assert json.loads((tmp_path / "v.json").read_text()) == a
