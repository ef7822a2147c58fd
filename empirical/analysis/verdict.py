"""The verdict: plain sentences stating what the verification found (``summary.json["verification"]["verdict"]``).

Nothing is fitted or tuned to make theory and measurement agree; every sentence reports numbers
from the verification.
"""

from __future__ import annotations

import math
from typing import Any

from empirical.analysis.pooling import INDEPENDENT
from empirical.analysis.requirement import CI_TARGET, SMALL_NOISE
from empirical.analysis.stats import WITHIN, finite, median
from empirical.analysis.tables import fixed, interval, percent


def verdict(v: dict[str, Any]) -> list[str]:
    """The sentences, from a verification holding every key but ``verdict``."""
    if not v["second_order"]:
        return ["No finished, non-diverged runs with noise measurements: nothing to verify."]
    lines = [_order_sentence("Second order ½η² tr(HΣ₁)", v["second_order_fit"])]
    lines += _smallest_level(v["by_lr"])
    small = [r for r in v["second_order"] if r["noise_level"] <= SMALL_NOISE]
    if small:
        lines.append(
            f"At η ≤ {SMALL_NOISE:g} the second-order ratio's 95% CI contains 1 in "
            f"{sum(r['ci_contains_1'] for r in small)} of {len(small)} (run, level) pairs."
        )
    lines += _kinks(v)
    lines += _fourth_order(v)
    if v["variance_fit"]:
        spread = _order_sentence("Spread of ΔL (std)", v["variance_fit"])
        lines.append(spread.replace("measured/predicted", "measured/predicted std"))
    lines += _spearman(v["spearman"]) + _sweet_spot(v["sweet_spot"]) + _requirement(v["ci_requirement"])
    return lines


def _order_sentence(name: str, fits: list[dict[str, Any]]) -> str:
    """Up to which η the median ratio stays within 10% of 1 (at that level and every one below)."""
    if not fits:
        return f"{name}: no runs with this prediction."
    holds, fail = None, None
    for f in fits:
        if not (math.isfinite(f["median_ratio"]) and abs(f["median_ratio"] - 1) <= WITHIN):
            fail = f
            break
        holds = f["noise_level"]
    ratios = ", ".join(f"{f['noise_level']:g}: {fixed(f['median_ratio'])}" for f in fits)
    if holds is None:
        head = f"{name}: misses by more than 10% already at the smallest η = {fits[0]['noise_level']:g}"
    elif fail is None:
        head = f"{name}: median ratio within 10% of 1 at every level up to η = {holds:g}"
    else:
        head = f"{name}: median ratio within 10% of 1 up to η = {holds:g}, not at η = {fail['noise_level']:g}"
    return f"{head} (median measured/predicted by η — {ratios})."


def _smallest_level(rows: list[dict[str, Any]]) -> list[str]:
    """Where the second order stands per learning rate at the smallest η (seeds pooled)."""
    if not rows:
        return []
    eta = min(r["noise_level"] for r in rows)
    at = [r for r in rows if r["noise_level"] == eta and math.isfinite(r["second_order"]["ratio"])]
    if not at:
        return []
    lo = min(at, key=lambda r: r["second_order"]["ratio"])
    hi = max(at, key=lambda r: r["second_order"]["ratio"])
    good = sum(r["second_order"]["within_10pct"] for r in at)
    below = [f"{r['lr']:g}" for r in at if r["second_order"]["ratio_ci_high"] < 1]
    above = [f"{r['lr']:g}" for r in at if r["second_order"]["ratio_ci_low"] > 1]
    return [
        f"At the smallest η = {eta:g}, seeds pooled, the ratio ranges from {fixed(lo['second_order']['ratio'])} "
        f"(lr {lo['lr']:g}) to {fixed(hi['second_order']['ratio'])} (lr {hi['lr']:g}); within 10% for {good} of "
        f"{len(at)} learning rates; significantly below 1 at {_lrs(below)}, above 1 at {_lrs(above)}."
    ]


def _lrs(values: list[str]) -> str:
    return f"lr {', '.join(values)}" if values else "no lr"


def _kinks(v: dict[str, Any]) -> list[str]:
    """What the kink term explains of the second-order miss, per lr at small η (seeds and levels pooled)."""
    k = v["kinks"]
    lines = []
    if k["pooling"] == INDEPENDENT:
        lines.append("Pooled intervals treat runs as independent: these results hold no per-draw increases "
                     "(pair_increase in run.json), so the noise draws the runs share are not accounted for and the "
                     "intervals are too narrow.")  # fmt: skip
    if k["state"] == "absent":
        return lines + ["Kink term: not in these results (no kink_delta_loss); rerun the sweep to measure it."]
    if not k["per_lr"]:
        return lines + [f"Kink term: no noise level η ≤ {k['max_noise_level']:g} to compare it at."]
    kinked = k["state"] == "measured"
    per_lr = "; ".join(
        f"{e['lr']:g}: {interval(e['second_order'])}" + (f" → {interval(e['with_kinks'])}" if kinked else "")
        for e in k["per_lr"]
    )
    pooled = f"seeds and η ≤ {k['max_noise_level']:g} pooled, 95% CI"
    if k["state"] == "zero":
        lines.append(f"Kink term: 0 in every run (no piecewise-linear activation), so the second order is the whole "
                     f"prediction; measured/predicted per lr ({pooled}) — {per_lr}.")  # fmt: skip
    else:
        e = k["per_lr"]
        closer = sum(x["with_kinks"]["miss"] < x["second_order"]["miss"] for x in e)
        both = {n: sum(x[n]["ci_contains_1"] for x in e) for n in ("second_order", "with_kinks")}
        small = k["small_cells"]
        lines += [
            _order_sentence("Second order + kink term", v["with_kinks_fit"]),
            f"Kink term (noise at the activation kinks, which H misses): measured/predicted per lr without → with it "
            f"({pooled}) — {per_lr}. The miss |R − 1| shrinks at {closer} of {len(e)} lrs; the CI contains 1 at "
            f"{both['second_order']} of {len(e)} lrs without the kink term and at {both['with_kinks']} with it.",
            f"At η ≤ {k['max_noise_level']:g}, per (run, level): median measured/(second order + kink) "
            f"{fixed(small['with_kinks']['median_ratio'], 3)} (second order alone "
            f"{fixed(small['second_order']['median_ratio'], 3)}); the CI contains 1 in "
            f"{small['with_kinks']['ci_contains_1']} of {small['with_kinks']['cells']} (alone: "
            f"{small['second_order']['ci_contains_1']}); the kink term is a "
            f"median {percent(k['median_kink_share'])} of the prediction.",
        ]  # fmt: skip
    return lines


def _fourth_order(v: dict[str, Any]) -> list[str]:
    if not v["fourth_order"]:
        return ["Fourth order: the runs hold no fourth_moment_test; rerun the sweep to measure it."]
    widths = ", ".join(f"{f['noise_level']:g}: ±{fixed(f['median_ci_half_width'])}" for f in v["fourth_order_fit"])
    pairs = {(r["run_id"], r["noise_level"]): r for r in v["second_order"]}
    closer = [abs(r["rel_error"]) < abs(pairs[(r["run_id"], r["noise_level"])]["rel_error"])
              for r in v["fourth_order"]
              if (r["run_id"], r["noise_level"]) in pairs and finite(r["rel_error"])]  # fmt: skip
    rel = median(abs(r["fourth_moment_se"] / r["fourth_moment"]) for r in v["fourth_order"] if r["fourth_moment"])
    return [
        _order_sentence("Fourth order + η⁴E[D⁴L[v⁴]]/24", v["fourth_order_fit"]),
        f"Median 95% CI half-width of the fourth-order ratio by η — {widths}.",
        f"The fourth-order prediction is closer to the measurement than the second-order one in "
        f"{sum(closer)} of {len(closer)} (run, level) pairs; E[D⁴L[v⁴]] has a median relative SE of "
        f"{percent(rel)} per run.",
    ]


def _spearman(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for target, label in (("delta_loss", "ΔL"), ("acc_drop", "the accuracy drop")):
        pick = {(r["noise_level"], r["curvature"]): r for r in rows if r["target"] == target}
        levels = sorted({eta for eta, _ in pick})
        wins = {"trace": 0, "noise_trace": 0}
        for eta in levels:
            a, b = pick.get((eta, "trace")), pick.get((eta, "noise_trace"))
            if a and b and finite(a["rho"], b["rho"]) and a["rho"] != b["rho"]:
                wins["noise_trace" if b["rho"] > a["rho"] else "trace"] += 1
        if not levels or not any(finite(r["rho"]) for r in pick.values()):
            lines.append(f"Spearman ({label}): fewer than 3 learning rates with finished runs; no rank correlation.")
            continue
        med = {k: median(pick[(eta, k)]["rho"] for eta in levels if (eta, k) in pick) for k in wins}
        lines.append(
            f"Across learning rates, {label} ranks with tr(HΣ₁) at median ρ = {fixed(med['noise_trace'])} and with "
            f"tr(H) at median ρ = {fixed(med['trace'])}; tr(HΣ₁) has the higher ρ at {wins['noise_trace']} of "
            f"{len(levels)} levels, tr(H) at {wins['trace']}."
        )
    return lines


def _sweet_spot(spots: list[dict[str, Any]]) -> list[str]:
    if not spots:
        return []
    steps = [s["steps_loss"] for s in spots if s["steps_loss"] is not None]
    kink = [s["steps_loss_kink"] for s in spots if s["steps_loss_kink"] is not None]
    same_acc = sum(s["steps_acc"] == 0 for s in spots if s["steps_acc"] is not None)
    boot = ", ".join(f"{s['noise_level']:g}: {percent(s['bootstrap_coincide_loss'])}" for s in spots)
    with_kinks = ""
    if kink:
        with_kinks = (f"; predicted with the kink term, it is the lowest-noisy-loss lr at {sum(d == 0 for d in kink)} "
                      f"of {len(spots)} levels and within one grid step at {sum(abs(d) <= 1 for d in kink)}")  # fmt: skip
    return [
        f"Sweet spot: the predicted lr is the lowest-noisy-loss lr at {sum(d == 0 for d in steps)} of {len(spots)} "
        f"levels and within one grid step at {sum(abs(d) <= 1 for d in steps)}; it is the best-noisy-accuracy lr at "
        f"{same_acc} of {len(spots)} levels (bootstrap over seeds, how often it is the lowest-noisy-loss lr, by η — "
        f"{boot}){with_kinks}."
    ]


def _requirement(req: dict[str, Any]) -> list[str]:
    if not req["rows"]:
        return []
    state = "met" if req["met"] else "not met"
    if math.isfinite(req["samples_needed"]):
        need = f"about {req['samples_needed']:g} samples would meet it for every run"
    else:
        need = (f"no sample count meets it for every run: the trace's own error alone reaches "
                f"±{fixed(req['max_trace_half_width'])} in some")  # fmt: skip
    if math.isfinite(req["samples_needed_median_run"]):
        need += f", {req['samples_needed_median_run']:g} for the median run"
    return [
        f"Requirement ratio CI ≤ ±{CI_TARGET:g} at η ≤ {SMALL_NOISE:g}: {state} "
        f"(widest ±{fixed(req['max_half_width'])}, median ±{fixed(req['median_half_width'])} with "
        f"{req['samples_now']:g} samples; {need})."
    ]
