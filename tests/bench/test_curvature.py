"""Tests for ``python -m empirical.bench.curvature``: --quick, argument errors, one end-to-end run."""

from __future__ import annotations

import json
import sys

import pytest

from empirical.bench import curvature


def _options(argv):
    return curvature.options(curvature.parser().parse_args(argv))


def test_full_run_defaults():
    args = _options([])
    assert (args.lrs, args.repeats, args.probes, args.samples, args.epochs) == ([0.01, 0.05, 0.2], 20, None, None, None)
    assert args.methods == ("gn",) and not args.quick and args.reference == "auto"


def test_quick_trims_and_explicit_options_win():
    args = _options(["--quick"])
    assert (args.lrs, args.repeats, args.probes) == tuple(curvature.QUICK[k] for k in ("lrs", "repeats", "probes"))
    assert args.repeats < curvature.FULL["repeats"] and len(args.lrs) < len(curvature.FULL["lrs"])
    args = _options(["--quick", "--repeats", "3", "--lrs", "0.1", "--probes", "9"])
    assert (args.lrs, args.repeats, args.probes, args.samples) == ([0.1], 3, 9, None)


def test_help_says_what_quick_trims(capsys):
    with pytest.raises(SystemExit):
        curvature.parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--quick keeps what decides the figures" in text and "It trims the checkpoints" in text
    assert "(default: 20; --quick: 6)" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--repeats", "1"], "--repeats 1 must be >= 2"),
        (["--quick", "--probes", "1"], "--probes 1 must be >= 2"),
        (["--methods", "gn,power"], "--methods 'gn,power'"),
        (["--target", "2"], "--target 2.0 must be in (0, 1)"),
        (["--lrs", "0.1,-1"], "expected learning rates > 0"),
        (["--lrs", "x"], "argument --lrs: 'x' is not a number"),
        (["--device", "nodevice"], "argument --device: 'nodevice' is unavailable"),
        (["--preset", "nope"], "unknown preset 'nope'"),
        (["--quick", "--activation", "swish"], "swish"),
        (["--reference", "dense"], "argument --reference: invalid choice: 'dense'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message, capsys):
    assert curvature.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench.curvature: error: ") and message in err and err.count("\n") == 1


def test_missing_extra_exits_2_before_training(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "curvlinops", None)
    assert curvature.main(["--quick"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "pip install -e '.[bench]'" in captured.err


def test_quick_end_to_end_writes_the_figures_with_intervals(tmp_path, capsys):
    path = tmp_path / "bench.json"
    argv = ["--quick", "--preset", "smoke", "--lrs", "0.1", "--samples", "40", "--repeats", "2", "--probes", "4"]
    assert curvature.main([*argv, "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    assert {"methods", "speedup_at_1pct", "speedup_at_1pct_ci", "se_coverage", "se_coverage_ci", "se_coverage_trials",
            "interval_level", "speedups", "references", "target_rel_error", "default_method", "quick", "epochs",
            "test_samples", "command"} <= set(result)  # fmt: skip
    low, high = result["speedup_at_1pct_ci"]
    assert 0 < low < result["speedup_at_1pct"] < high
    assert result["se_coverage_ci"][0] <= result["se_coverage"] <= result["se_coverage_ci"][1]
    assert result["quick"] and result["test_samples"] == 40 and result["epochs"] == 3  # the smoke preset's epochs
    assert [m["name"] for m in result["methods"]] == ["pyhessian, 4 probes", "ours gn", "ours gn, tr(HΣ₁)"]
    assert "speedup_at_1pct (smallest)" in capsys.readouterr().out
