"""What the kink term explains: pooled ratios without and with it, per lr and over all runs, against
constructed records whose kink share and Monte Carlo error are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from empirical.analysis import orders
from empirical.analysis.kinks import kink_summary
from empirical.analysis.pooling import COMMON
from empirical.analysis.predictions import cells
from empirical.analysis.requirement import SMALL_NOISE
from tests.analysis.records import LEVELS, LRS, SEEDS, rows, synthetic_records


def _summary(records: list[dict]) -> dict:
    c = cells(*rows(records))
    return kink_summary(c, {name: orders.order_rows(c, name) for name in ("second_order", "with_kinks")})


def test_per_lr_ratios_pool_seeds_and_small_levels_draw_by_draw():
    c = cells(*rows(synthetic_records(kink_share=0.3, pairs=100)))
    k = _summary(synthetic_records(kink_share=0.3, pairs=100))
    assert k["state"] == "measured" and k["pooling"] == COMMON and k["max_noise_level"] == SMALL_NOISE
    small = [eta for eta in LEVELS if eta <= SMALL_NOISE]
    assert [e["lr"] for e in k["per_lr"]] == list(LRS)
    for i, e in enumerate(k["per_lr"]):
        mine = [x for x in c if x["lr"] == e["lr"] and x["noise_level"] <= SMALL_NOISE]
        assert e["levels"] == small and e["seeds"] == len(SEEDS) and e["pairs"] == 100
        for name, key in (("second_order", "p2"), ("with_kinks", "pk")):
            ratios = np.array([x["delta_loss"] / x[key] for x in mine])
            # ΔL = R_c p_c (1 + 0.3 u_k), u shared with sd 1: the MC error is 0.3 R̄/√100, the cells' own errors
            # are bounded as fully correlated
            bound = np.mean([r * x[f"{key}_se"] / x[key] for r, x in zip(ratios, mine)])
            assert e[name]["ratio"] == pytest.approx(ratios.mean())
            assert e[name]["ratio_se"] == pytest.approx(math.hypot(0.03 * ratios.mean(), bound), rel=1e-6)
            assert e[name]["miss"] == pytest.approx(abs(ratios.mean() - 1))
        # the second order misses by about the kink share, 0.3 × (1 − i); the kink term takes it away
        assert e["second_order"]["ratio"] == pytest.approx(1 + 0.3 * (1 - i), abs=0.05)
        assert e["with_kinks"]["miss"] < 0.1 and e["with_kinks"]["ci_contains_1"]
    assert [e["noise_level"] for e in k["all_runs"]] == list(LEVELS)
    assert {e["runs"] for e in k["all_runs"]} == {len(LRS) * len(SEEDS)}
    assert k["small_cells"]["with_kinks"]["cells"] == len(LRS) * len(SEEDS) * len(small)
    medians = {name: k["small_cells"][name]["median_ratio"] for name in ("second_order", "with_kinks")}
    assert abs(medians["with_kinks"] - 1) < abs(medians["second_order"] - 1)


def test_a_smooth_network_has_a_zero_kink_term_and_the_same_ratios_with_it():
    k = _summary(synthetic_records())
    assert k["state"] == "zero" and k["median_kink_share"] == 0.0
    for e in k["per_lr"] + k["all_runs"]:
        assert e["with_kinks"] == e["second_order"]
