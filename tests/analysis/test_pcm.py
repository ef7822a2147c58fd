"""``empirical.analysis.pcm``: inference times as levels, the mean term's share, nothing η-specific."""

from __future__ import annotations

import json

import pytest

from empirical import analysis
from empirical.analysis.levels import level_label, time_label
from tests.analysis.records import rows, synthetic_records

TIMES = (1.0, 3600.0, 86400.0, 2592000.0, 31536000.0)


def test_times_are_labelled_in_their_largest_whole_unit():
    assert [time_label(t) for t in TIMES] == ["1 s", "1 h", "1 d", "30 d", "1 y"]
    assert time_label(90.0) == "1.5 min" or time_label(90.0) == "90 s"
    assert level_label("layer-relative", 0.05) == "η = 0.05" and level_label("pcm", 3600.0) == "1 h"


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_a_time_that_is_not_positive_is_refused(bad):
    with pytest.raises(ValueError, match="positive number of seconds"):
        time_label(bad)


def _pcm_rows(mean_share: float) -> tuple[list, list]:
    """The synthetic sweep with its three levels recast as pcm times; the prediction is the row's own,
    ``mean_share`` of it carried by the mean term, and the measurement equals it."""
    records = json.loads(json.dumps(synthetic_records(pairs=40)))
    for r in records:
        for i, row in enumerate(r["noise"]):
            row["noise_model"], row["noise_level"] = "pcm", TIMES[i]
            if r["status"] == "ok":
                row["inference_seconds"] = TIMES[i]
                row["predicted_delta_loss"], row["predicted_delta_loss_se"] = row["delta_loss"], 1e-9
                row["mean_delta_loss"] = mean_share * row["delta_loss"]
    return rows(records)


def test_pcm_block_has_ratios_per_time_and_the_mean_share_without_eta_terms():
    s = analysis.summarize({"noise_model": "pcm"}, *_pcm_rows(0.4), bootstrap=50)
    (v,) = s["analysis"]["noise_models"]
    assert v["timed"] and "fourth_order" not in v and "kinks" not in v and "slope" not in v
    assert {r["time"] for r in v["prediction"]} == {"1 s", "1 h", "1 d"}
    assert all(r["ratio"] == pytest.approx(1.0) and r["mean_share"] == pytest.approx(0.4) for r in v["prediction"])
    assert all(e["mean_share"] == pytest.approx(0.4) for e in v["by_lr"])
    assert v["verdict"][0].startswith("Answer: measured/predicted ΔL") and "1 d: median 1.00" in v["verdict"][0]
    assert "1 s: 40%" in v["verdict"][1]
    text = analysis.report(s)
    assert "Noisy accuracy by inference time" in text and "η=" not in text.split("=== Noise model pcm")[1]
