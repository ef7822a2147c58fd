"""The printed text: per noise model its verdict, then its tables (ratios, per-level agreement,
breakdown, kink term, within-lr identification, sweet spot), each once; then the per-lr aggregates.
Text only; every number is formatted here, and :data:`NOTATION` says what the signs mean."""

from __future__ import annotations

import math
from typing import Any

from empirical.analysis.equivalence import FAILS, HOLDS, UNDETERMINED
from empirical.analysis.identification import CANDIDATES
from empirical.analysis.intervals import Z95
from empirical.analysis.levels import level_label

NOTATION = ("Notation: [a, b] is a 95% interval; x±h is x with the half-width h of its 95% interval; '—' is a "
            "number that cannot be computed (too few runs, no finite error, or not in the results); n.r.: not resolved "
            "(the interval is wider than the value); h/f/u count "
            "where the ±10% equivalence test holds / fails / is undetermined.")  # fmt: skip


def fixed(x: float | None, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals; '—' for None or NaN."""
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def sig(x: float | None, digits: int = 6) -> str:
    """``x`` to ``digits`` significant digits (``:g``); '—' for None or NaN."""
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}g}"


def percent(x: float) -> str:
    """A fraction as a whole percentage; '—' for NaN."""
    return "—" if not math.isfinite(x) else f"{100 * x:.0f}%"


def plus_minus(stat: dict[str, float], digits: int) -> str:
    """A :func:`~empirical.analysis.stats.mean_ci` entry as 'mean ± half-width' (the mean alone without interval)."""
    if not math.isfinite(stat["mean"]):
        return "—"
    if not math.isfinite(stat["ci_high"]):
        return sig(stat["mean"], digits)
    return f"{sig(stat['mean'], digits)} ± {sig((stat['ci_high'] - stat['ci_low']) / 2, 2)}"


def ratio_cell(entry: dict[str, Any]) -> str:
    """A ratio entry as 'ratio±half-width'; 'ratio n.r.' (not resolved) where the interval is wider than the
    ratio itself, 'ratio —' where it is undetermined."""
    if not math.isfinite(entry["ratio"]):
        return "—"
    half = (entry["ratio_ci_high"] - entry["ratio_ci_low"]) / 2
    if not math.isfinite(half):
        return f"{entry['ratio']:.2f} —"
    return f"{entry['ratio']:.2f} n.r." if half > abs(entry["ratio"]) else f"{entry['ratio']:.2f}±{half:.2f}"


def bracket(entry: dict[str, Any], key: str, digits: int = 2) -> str:
    """'[low, high]' of ``entry[key + '_ci_low']`` and ``entry[key + '_ci_high']``."""
    return f"[{fixed(entry[f'{key}_ci_low'], digits)}, {fixed(entry[f'{key}_ci_high'], digits)}]"


def interval(entry: dict[str, Any]) -> str:
    """A ratio entry (:func:`~empirical.analysis.stats.ratio_interval`) as 'ratio [low, high]'."""
    if not math.isfinite(entry["ratio"]):
        return "—"
    return f"{entry['ratio']:.2f} [{fixed(entry['ratio_ci_low'])}, {fixed(entry['ratio_ci_high'])}]"


def per_lr(summary: dict[str, Any]) -> str:
    """Per lr: seeds finished, clean accuracy, curvature, λ_max, stability bound; noisy accuracy by η
    (one table per noise model)."""
    lines = ["Per learning rate (x±h: mean over seeds ± 95% t half-width):"]
    head = (f"{'lr':>8} {'ok':>5} {'test acc':>15} {'tr(H) test':>17} {'tr(HΣ₁) test':>17} {'λ_max':>15}"
            f" {'2(1+β)/lr':>10}")  # fmt: skip
    lines += [head, "-" * len(head)]
    for a in summary["per_lr"]:
        lines.append(
            f"{a['lr']:>8g} {a['ok']:>2}/{a['runs']:<2} {plus_minus(a['test_acc'], 3):>15}"
            f" {plus_minus(a['hessian_trace_test'], 4):>17} {plus_minus(a['noise_trace_test'], 4):>17}"
            f" {plus_minus(a['lambda_max_train'], 4):>15} {sig(a['stability_bound']['mean'], 4):>10}"
        )
    models = sorted({lv["noise_model"] for a in summary["per_lr"] for lv in a["levels"]})
    for model in models:
        levels = sorted({lv["noise_level"] for a in summary["per_lr"] for lv in a["levels"] if lv["noise_model"] == model})
        lines += ["", f"Noisy test accuracy by noise level, noise model {model} (mean ± 95% t half-width over seeds; "
                  "the error of the noise draws the seeds share is not in it):"]
        head = f"{'lr':>8} " + " ".join(f"{level_label(model, eta).replace(' ', ''):>15}" for eta in levels)
        lines += [head, "-" * len(head)]
        for a in summary["per_lr"]:
            cells = {lv["noise_level"]: plus_minus(lv["noisy_acc_mean"], 3) for lv in a["levels"]
                     if lv["noise_model"] == model}  # fmt: skip
            lines.append(f"{a['lr']:>8g} " + " ".join(f"{cells.get(eta, ''):>15}" for eta in levels))
    return "\n".join(lines)


def analysis(a: dict[str, Any]) -> str:
    """``summary.json["analysis"]``: per noise model its verdict, then its tables."""
    lines = ["Does the theory predict the measurement? (test split; ΔL in nats)", NOTATION]
    if not a["noise_models"]:
        lines += ["", "No finished, non-diverged runs with noise measurements: nothing to verify."]
    comparison = a.get("noise_model_comparison")
    if comparison and len(comparison["models"]) > 1:
        lines += ["", "=== Side by side: the noise models against lr ===", "Verdict:", *(f"- {x}" for x in comparison["verdict"])]
        lines += _comparison(comparison)
    if a.get("layers"):
        lines += ["", "=== Per layer (layers.csv) ===", "Verdict:", *(f"- {x}" for x in a["layers"]["verdict"])]
    for v in a["noise_models"]:
        lines += ["", f"=== Noise model {v['noise_model']} ({v['runs']} runs) ===", "Verdict:"]
        lines += [f"- {line}" for line in v["verdict"]]
        parts = ((_timed_ratios(v["by_lr"]), _timed_accuracy(v["accuracy"])) if v.get("timed") else
                 (_ratios(v["by_lr"]), _fits(v), _breakdown(v["breakdown"]), _identification(v["identification"]),
                  _sweet_spot(v["sweet_spot"])))  # fmt: skip
        for part in parts:
            lines += part
    return "\n".join(lines)


def _comparison(c: dict[str, Any]) -> list[str]:
    """Per model and level, the lr means of ΔL with their bootstrap SE, and ΔL's Spearman ρ against lr."""
    lines = ["", "ΔL (nats) against lr per noise model and level, lr mean ± bootstrap SE; Spearman ρ [95%]:"]
    for m in c["models"]:
        for r in m["levels"]:
            means = "  ".join(f"{e['lr']:g}: {sig(e['mean'], 3)}±{sig(e['se'], 1)}" for e in r["delta_loss"]["per_lr"])
            lines.append(f"{m['noise_model']:>15} {r['label']:>10} | {means} | ρ {fixed(r['delta_loss']['rho'])} "
                         f"{bracket(r['delta_loss'], 'rho')} {r['delta_loss']['direction']}")  # fmt: skip
    return lines


def _timed_ratios(rows: list[dict[str, Any]]) -> list[str]:
    """Measured / predicted ΔL per (lr, inference time), seeds pooled."""
    times = sorted({(r["noise_level"], r["time"]) for r in rows})
    cell = {(r["lr"], r["noise_level"]): r for r in rows}
    head = f"{'lr':>8} " + " ".join(f"{label:>12}" for _, label in times)
    lines = ["", "Measured / predicted ΔL (gᵀμ + ½μᵀHμ + ½tr(HΣ(t))) by inference time; seeds pooled:", head,
             "-" * len(head)]  # fmt: skip
    for lr in sorted({r["lr"] for r in rows}):
        lines.append(f"{lr:>8g} " + " ".join(f"{ratio_cell(cell[(lr, t)]) if (lr, t) in cell else '':>12}"
                                            for t, _ in times))  # fmt: skip
    return lines


def _timed_accuracy(rows: list[dict[str, Any]]) -> list[str]:
    """Noisy accuracy (mean ± half-width over seeds) per (lr, inference time)."""
    times = sorted({(r["noise_level"], r["time"]) for r in rows})
    cell = {(r["lr"], r["noise_level"]): r for r in rows}
    head = f"{'lr':>8} {'clean':>14} " + " ".join(f"{label:>14}" for _, label in times)
    lines = ["", "Noisy accuracy by inference time (mean ± 95% half-width over seeds):", head, "-" * len(head)]
    for lr in sorted({r["lr"] for r in rows}):
        first = next(cell[(lr, t)] for t, _ in times if (lr, t) in cell)
        accs = [plus_minus(cell[(lr, t)]["noisy_acc_mean"], 3) if (lr, t) in cell else "" for t, _ in times]
        lines.append(f"{lr:>8g} {plus_minus(first['clean_acc'], 3):>14} " + " ".join(f"{x:>14}" for x in accs))
    return lines


_PREDICTIONS = (("second_order", "½η² tr(HΣ₁)"), ("with_kinks", "½η² tr(HΣ₁) + kink term"),
                ("fourth_order", "½η² tr(HΣ₁) + η⁴ E[D⁴L[v⁴]]/24"))  # fmt: skip


def _ratios(rows: list[dict[str, Any]]) -> list[str]:
    levels = sorted({r["noise_level"] for r in rows})
    lrs = sorted({r["lr"] for r in rows})
    cell = {(r["lr"], r["noise_level"]): r for r in rows}
    pooling = {r["pooling"] for r in rows}
    lines = []
    for key, title in _PREDICTIONS:
        if not any(math.isfinite(r[key]["ratio"]) for r in rows):
            continue
        lines += ["", f"Measured / predicted ΔL, prediction {title}; seeds pooled ({', '.join(sorted(pooling))}):"]
        head = f"{'lr':>8} " + " ".join(f"{'η=' + format(e, 'g'):>12}" for e in levels)
        lines += [head, "-" * len(head)]
        for lr in lrs:
            cells = [ratio_cell(cell[(lr, e)][key]) if (lr, e) in cell else "" for e in levels]
            lines.append(f"{lr:>8g} " + " ".join(f"{c:>12}" for c in cells))
    return lines


def _fits(v: dict[str, Any]) -> list[str]:
    lines = ["", "Per level across runs: median measured/predicted, ±10% equivalence h/f/u, median miss of the",
             "prediction and of the curvature-free null (the level's median ΔL), log–log slope:"]  # fmt: skip
    head = (f"{'η':>6} {'runs':>4} | {'2nd: ratio':>10} {'h/f/u':>8} {'miss':>5} {'null':>5} {'log–log slope':>19} |"
            f" {'+kink: ratio':>12} {'h/f/u':>8} | {'4th: ratio':>10}")  # fmt: skip
    lines += [head, "-" * len(head)]
    fourth = {f["noise_level"]: f for f in v["fourth_order_fit"]}
    kinked = {f["noise_level"]: f for f in v["with_kinks_fit"]}
    for f in v["second_order_fit"]:
        g, k = fourth.get(f["noise_level"]), kinked.get(f["noise_level"])
        half = Z95 * f["loglog_slope_se"]
        slope = f"{fixed(f['loglog_slope'])} [{fixed(f['loglog_slope'] - half)}, {fixed(f['loglog_slope'] + half)}]"
        kink = f"{fixed(k['median_ratio']):>12} {_hfu(k):>8}" if k else f"{'—':>12} {'—':>8}"
        lines.append(f"{f['noise_level']:>6g} {f['runs']:>4} | {fixed(f['median_ratio']):>10} {_hfu(f):>8}"
                     f" {percent(f['median_miss']):>5} {percent(f['null_median_miss']):>5} {slope:>19} | {kink} |"
                     f" {fixed(g['median_ratio']) if g else '—':>10}")  # fmt: skip
    return lines


def _hfu(fit: dict[str, Any]) -> str:
    return f"{fit[HOLDS]}/{fit[FAILS]}/{fit[UNDETERMINED]}"


def _breakdown(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["", "Breakdown per run: ±10% equivalence holds up to η (then h: holds at every level tested,",
             "f@η: fails at the next level η, u@η: undetermined there); '—' holds at no level:",
             f"{'lr':>8} {'seed':>4} {'2nd order':>14} {'2nd + kink':>14} {'4th order':>14}"]  # fmt: skip
    for b in rows:
        cols = [_breakdown_cell(b.get(k)) for k in ("second_order", "with_kinks", "fourth_order")]
        lines.append(f"{b['lr']:>8g} {b['seed']:>4} " + " ".join(f"{c:>14}" for c in cols))
    return lines


def _breakdown_cell(b: dict[str, Any] | None) -> str:
    if b is None:
        return ""
    upto = sig(b["holds_up_to"])
    return f"{upto} h" if b["next"] is None else f"{upto} {b['next'][0]}@{b['next_level']:g}"


def _identification(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["", "Within-lr partial correlation r of ΔL with each candidate (lr as a category), [95% bootstrap]:"]
    head = f"{'η':>6} " + " ".join(f"{CANDIDATES[c][0]:>22}" for c in CANDIDATES)
    lines += [head, "-" * len(head)]
    by = {(r["noise_level"], r["candidate"]): r for r in rows}
    for eta in sorted({r["noise_level"] for r in rows}):
        cells = []
        for c in CANDIDATES:
            r = by.get((eta, c))
            cells.append(f"{fixed(r['r'])} {bracket(r, 'r')}" if r else "")
        lines.append(f"{eta:>6g} " + " ".join(f"{x:>22}" for x in cells))
    return lines


def _sweet_spot(spots: list[dict[str, Any]]) -> list[str]:
    if not spots:
        return []
    lines = ["", "Sweet spot (lr): measured optimum (lowest mean noisy loss), the curvature's pick, the null's",
             "(argmin clean loss); noisy loss of the curvature's pick minus the null's, and minus the optimum's,",
             "paired over the same seeds and draws [95%]:"]  # fmt: skip
    head = (f"{'η':>6} {'measured':>8} {'max acc':>8} {'curv.':>7} {'+kink':>7} {'null':>7} {'curvature − null':>36}"
            f" {'curvature − optimum':>36}")  # fmt: skip
    lines += [head, "-" * len(head)]
    for s in spots:
        lines.append(f"{s['noise_level']:>6g} {sig(s['measured_lr_loss']):>8} {sig(s['measured_lr_acc']):>8}"
                     f" {sig(s['predicted_lr']):>7} {sig(s['predicted_lr_kink']):>7} {sig(s['null_lr']):>7}"
                     f" {_paired(s['curvature_vs_null']):>36} {_paired(s['predicted_lr_regret']):>36}")  # fmt: skip
    return lines


def _paired(d: dict[str, Any] | None) -> str:
    """A paired difference as 'difference [low, high] outcome'; the outcome alone for the same lr."""
    if d is None:
        return "—"
    if d["outcome"] == "same lr":
        return "same lr"
    return f"{sig(d['difference'], 2)} [{sig(d['ci_low'], 2)}, {sig(d['ci_high'], 2)}] {d['outcome']}"
