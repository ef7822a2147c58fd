"""paper.plots.load: reading a results folder, and errors that name the missing file, column or key."""

import csv
import json

import numpy as np
import pytest

from paper.plots.load import ResultsError, load
from tests.paper.synthetic import LEVELS, LRS, MOMENTUM, write_results


def _drop_column(path, column):
    with path.open() as f:
        rows = list(csv.DictReader(f))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, [c for c in rows[0] if c != column], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _edit_summary(folder, edit):
    path = folder / "summary.json"
    summary = json.loads(path.read_text())
    edit(summary)
    path.write_text(json.dumps(summary))


def test_load_gives_per_lr_aggregates_counts_and_run_values(tmp_path):
    r = load(write_results(tmp_path / "res"))
    assert list(r.lrs) == list(LRS) and list(r.noise_levels) == list(LEVELS)
    assert list(r.counts("diverged")) == [0, 0, 0, 1] and list(r.counts("ok")) == [2, 2, 2, 1]
    acc = r.lr_stats("test_acc")
    assert np.all(acc.low[:3] < acc.mean[:3]) and np.all(acc.mean[:3] < acc.high[:3])
    assert np.isfinite(acc.mean[3]) and np.isnan(acc.low[3])  # one finished seed: a mean, no interval
    at_01 = r.runs["test_acc"][(r.runs["lr"] == 0.01) & (r.runs["status"] == "ok")]
    assert acc.mean[0] == pytest.approx(at_01.mean())
    assert np.all(np.isfinite(r.level_stats("noisy_acc_mean", 0.1).mean))
    # the stability bound is known for the diverged run too
    assert r.per_lr_run_value("stability_bound") == pytest.approx([2 * (1 + MOMENTUM) / lr for lr in LRS])


def test_delta_loss_comes_from_the_analysis_block_only(tmp_path):
    r = load(write_results(tmp_path / "a"))
    d = r.delta_loss()
    assert "[analysis][layer-relative][second_order]" in d.source
    assert len(d) == 7 * len(LEVELS)  # 8 runs, one diverged: its rows have no ΔL
    ok = r.noise.where(np.isfinite(r.noise["delta_loss"]))
    assert sorted(d["measured"]) == pytest.approx(sorted(ok["delta_loss"]))
    bare = load(write_results(tmp_path / "b", with_analysis=False))
    with pytest.raises(ResultsError, match=r"summary.json has no key 'analysis'"):
        bare.delta_loss()  # no fallback to noise.csv


def test_the_block_of_the_sweeps_noise_model_is_read_and_a_missing_one_is_named(tmp_path):
    folder = write_results(tmp_path / "res")
    _edit_summary(folder, lambda s: s["analysis"]["noise_models"][0].update(noise_model="additive"))
    with pytest.raises(ResultsError, match=r"no block for noise model 'layer-relative'.*it has: additive"):
        load(folder).analysis


@pytest.mark.parametrize(("name", "column"), [("runs.csv", "hessian_trace_test"), ("noise.csv", "delta_loss_se")])
def test_a_missing_column_is_named_with_its_file(tmp_path, name, column):
    folder = write_results(tmp_path / "res")
    _drop_column(folder / name, column)
    with pytest.raises(ResultsError, match=rf"{name} has no column '{column}'"):
        load(folder)


def test_a_missing_file_is_named_with_the_command_that_writes_it(tmp_path):
    folder = write_results(tmp_path / "res")
    (folder / "summary.json").unlink()
    with pytest.raises(ResultsError, match=r"summary.json does not exist.*empirical.hessian_sweep"):
        load(folder)
    with pytest.raises(ResultsError, match="does not exist"):
        load(tmp_path / "nowhere")


def test_a_missing_summary_key_or_analysis_column_is_named(tmp_path):
    folder = write_results(tmp_path / "res")
    _edit_summary(folder, lambda s: s.pop("per_lr"))
    with pytest.raises(ResultsError, match=r"summary.json has no key 'per_lr'"):
        load(folder).section("per_lr")
    _edit_summary(folder, lambda s: [row.pop("predicted_se") for row in s["analysis"]["noise_models"][0]["second_order"]])
    with pytest.raises(ResultsError, match=r"\[second_order\] has no column 'predicted_se'"):
        load(folder).delta_loss()


def test_a_non_numeric_cell_is_named(tmp_path):
    folder = write_results(tmp_path / "res")
    text = (folder / "runs.csv").read_text().splitlines()
    column = text[0].split(",").index("test_acc")
    cells = text[1].split(",")
    cells[column] = "n/a"
    (folder / "runs.csv").write_text("\n".join([text[0], ",".join(cells), *text[2:]]) + "\n")
    with pytest.raises(ResultsError, match=r"runs.csv: column 'test_acc' holds 'n/a'"):
        load(folder)


def test_pooled_ratios_flatten_the_analysis_by_lr_rows(tmp_path):
    r = load(write_results(tmp_path / "res"))
    ratios = r.pooled_ratios()
    stable = [lr for lr in LRS if lr != 0.3]  # lr 0.3 has one diverged seed: its other seed still counts
    assert sorted(set(ratios["lr"])) == list(LRS) and len(ratios) == len(LRS) * len(LEVELS)
    for name in ("second_order", "fourth_order", "with_kinks"):
        assert f"{name}_ratio" in ratios.columns and f"{name}_ci_low" in ratios.columns
    at = np.isin(ratios["lr"], stable)
    assert np.all(ratios["with_kinks_ci_low"][at] < ratios["with_kinks_ratio"][at])
    assert np.all(np.isnan(ratios["fourth_order_ratio"]))  # the synthetic runs hold no fourth moment
    with pytest.raises(ResultsError, match="has no key 'analysis'"):
        load(write_results(tmp_path / "bare", with_analysis=False)).pooled_ratios()
