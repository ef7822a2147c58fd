"""The printed tables: per-lr aggregates, and the verification (ratios, fits, breakdown, kink term,
spread, Spearman, sweet spot) followed by the verdict. Text only; every number is formatted here."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from empirical.analysis.ranking import CURVATURES, TARGETS

_NAMES = {"trace": "tr(H)", "noise_trace": "tr(HΣ₁)", "delta_loss": "ΔL", "acc_drop": "acc drop"}


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
    """A :func:`~empirical.analysis.stats.compare` entry as 'ratio±half-width'."""
    if not math.isfinite(entry["ratio"]):
        return "—"
    half = (entry["ratio_ci_high"] - entry["ratio_ci_low"]) / 2
    return f"{entry['ratio']:.2f}±{half:.2f}" if math.isfinite(half) else f"{entry['ratio']:.2f}"


def interval(entry: dict[str, Any]) -> str:
    """A ratio entry (:func:`~empirical.analysis.stats.ratio_interval`) as 'ratio [low, high]'."""
    if not math.isfinite(entry["ratio"]):
        return "—"
    return f"{entry['ratio']:.2f} [{fixed(entry['ratio_ci_low'])}, {fixed(entry['ratio_ci_high'])}]"


def per_lr(summary: dict[str, Any]) -> str:
    """Per lr: seeds finished, clean accuracy, curvature, λ_max, stability bound; noisy accuracy by η."""
    lines = ["Per learning rate (mean ± 95% CI half-width over seeds):"]
    head = (f"{'lr':>8} {'ok':>5} {'test acc':>15} {'tr(H) test':>17} {'tr(HΣ₁) test':>17} {'λ_max':>15}"
            f" {'2(1+β)/lr':>10}")  # fmt: skip
    lines += [head, "-" * len(head)]
    for a in summary["per_lr"]:
        lines.append(
            f"{a['lr']:>8g} {a['ok']:>2}/{a['runs']:<2} {plus_minus(a['test_acc'], 3):>15}"
            f" {plus_minus(a['hessian_trace_test'], 4):>17} {plus_minus(a['noise_trace_test'], 4):>17}"
            f" {plus_minus(a['lambda_max_train'], 4):>15} {sig(a['stability_bound']['mean'], 4):>10}"
        )
    levels = sorted({lv["noise_level"] for a in summary["per_lr"] for lv in a["levels"]})
    lines += ["", "Noisy test accuracy (mean ± 95% CI half-width over seeds) by noise level η:"]
    head = f"{'lr':>8} " + " ".join(f"{'η=' + format(eta, 'g'):>15}" for eta in levels)
    lines += [head, "-" * len(head)]
    for a in summary["per_lr"]:
        cells = {lv["noise_level"]: plus_minus(lv["noisy_acc_mean"], 3) for lv in a["levels"]}
        lines.append(f"{a['lr']:>8g} " + " ".join(f"{cells.get(eta, ''):>15}" for eta in levels))
    return "\n".join(lines)


def verification(v: dict[str, Any]) -> str:
    """``summary.json["verification"]`` as tables, then its verdict sentences."""
    lines = ["Verification: does the theory predict the measurement? (test split; 95% intervals)"]
    for part in (_ratios(v["by_lr"]), _fits(v), _breakdown(v["breakdown"]), _kinks(v["kinks"]),
                 _spread(v["variance_fit"]), _spearman(v["spearman"]), _sweet_spot(v["sweet_spot"])):  # fmt: skip
        lines += part
    lines += ["", "Verdict:"] + [f"- {line}" for line in v["verdict"]]
    return "\n".join(lines)


_PREDICTIONS = (("second_order", "½η² tr(HΣ₁)"), ("fourth_order", "½η² tr(HΣ₁) + η⁴ E[D⁴L[v⁴]]/24"),
                ("with_kinks", "½η² tr(HΣ₁) + kink term"))  # fmt: skip


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
    lines = ["", "Across runs per level (measured vs predicted ΔL): median ratio, share of runs within 10% and with"
             " CI ∋ 1,", "log–log slope ± SE and R²:"]  # fmt: skip
    head = (f"{'η':>6} {'runs':>4} | {'2nd: ratio':>10} {'≤10%':>5} {'CI∋1':>5} {'slope':>11} {'R²':>5} |"
            f" {'4th: ratio':>10} {'≤10%':>5} {'CI∋1':>5} | {'+kink: ratio':>12} {'≤10%':>5} {'CI∋1':>5}")  # fmt: skip
    lines += [head, "-" * len(head)]
    fourth = {f["noise_level"]: f for f in v["fourth_order_fit"]}
    kinked = {f["noise_level"]: f for f in v["with_kinks_fit"]}
    for f in v["second_order_fit"]:
        g, k = fourth.get(f["noise_level"]), kinked.get(f["noise_level"])
        slope = f"{fixed(f['loglog_slope'])}±{fixed(f['loglog_slope_se'])}"
        fit = f"{slope:>11} {fixed(f['loglog_r2']):>5}"
        tail = f"{_agreement(g) if g else format('—', '>22')} | {_agreement(k, 12) if k else format('—', '>24')}"
        lines.append(f"{f['noise_level']:>6g} {f['runs']:>4} | {_agreement(f)} {fit} | {tail}")
    return lines


def _agreement(fit: dict[str, Any], width: int = 10) -> str:
    """A level fit's median ratio, share within 10% and share with CI ∋ 1."""
    return (f"{fixed(fit['median_ratio']):>{width}} {percent(fit['within_10pct_fraction']):>5}"
            f" {percent(fit['ci_contains_1_fraction']):>5}")  # fmt: skip


def _breakdown(rows: list[dict[str, Any]]) -> list[str]:
    per_lr_rows: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for b in rows:
        per_lr_rows[b["lr"]].append(b)
    if not per_lr_rows:
        return []
    lines = ["", "Breakdown level (largest η up to which the prediction stays within 10% of measured), per seed;",
             "'CI': up to which the ratio's 95% CI still reaches the 10% band:",
             f"{'lr':>8} {'2nd order':>15} {'2nd, CI':>15} {'4th order':>15} {'4th, CI':>15} {'2nd+kink':>15}"
             f" {'2nd+kink, CI':>15}"]  # fmt: skip
    for lr, bs in sorted(per_lr_rows.items()):
        keys = ("second_order", "second_order_ci", "fourth_order", "fourth_order_ci", "with_kinks", "with_kinks_ci")
        cols = ["/".join(sig(b[k]) for b in bs) for k in keys]
        lines.append(f"{lr:>8g} " + " ".join(f"{c:>15}" for c in cols))
    return lines


def _kinks(k: dict[str, Any]) -> list[str]:
    if k["state"] != "measured":
        return []
    head = f"{'lr':>8} {'seeds':>5} {'2nd order':>19} {'2nd + kink':>19} {'|R−1|':>13}"
    lines = ["", f"Kink term: measured / predicted ΔL without and with it, seeds and η ≤ {k['max_noise_level']:g} "
             f"pooled ({k['pooling']}), 95% CI:", head, "-" * len(head)]  # fmt: skip
    for e in k["per_lr"]:
        miss = f"{fixed(e['second_order']['miss'])} → {fixed(e['with_kinks']['miss'])}"
        lines.append(f"{e['lr']:>8g} {e['seeds']:>5} {interval(e['second_order']):>19} {interval(e['with_kinks']):>19}"
                     f" {miss:>13}")  # fmt: skip
    for e in k["all_runs"]:
        miss = f"{fixed(e['second_order']['miss'])} → {fixed(e['with_kinks']['miss'])}"
        lines.append(f"{'η=' + format(e['noise_level'], 'g'):>8} {e['runs']:>5} {interval(e['second_order']):>19}"
                     f" {interval(e['with_kinks']):>19} {miss:>13}   (all runs)")  # fmt: skip
    return lines


def _spread(fits: list[dict[str, Any]]) -> list[str]:
    if not fits:
        return []
    cells = [f"η={f['noise_level']:g}: {fixed(f['median_ratio'])} (CI∋1 {percent(f['ci_contains_1_fraction'])})"
             for f in fits]  # fmt: skip
    title = "Spread of ΔL across draws, measured std / predicted √(η²gᵀΣ₁g + ½η⁴tr((HΣ₁)²)):"
    return ["", title, "  " + "  ".join(cells)]


def _spearman(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    combos = [(c, t) for c in CURVATURES for t in TARGETS]
    head = f"{'η':>6} " + " ".join(f"{_NAMES[c] + '~' + _NAMES[t]:>22}" for c, t in combos)
    lines = ["", "Spearman ρ across learning rates [bootstrap 95% CI over seeds]:", head, "-" * len(head)]
    by_key = {(r["noise_level"], r["curvature"], r["target"]): r for r in rows}
    for eta in sorted({r["noise_level"] for r in rows}):
        cells = []
        for c, t in combos:
            r = by_key.get((eta, c, t))
            cells.append(f"{fixed(r['rho'])} [{fixed(r['ci_low'])}, {fixed(r['ci_high'])}]" if r else "")
        lines.append(f"{eta:>6g} " + " ".join(f"{x:>22}" for x in cells))
    return lines


def _sweet_spot(spots: list[dict[str, Any]]) -> list[str]:
    if not spots:
        return []
    head = (f"{'η':>6} {'predicted':>9} {'+kink':>6} {'min loss':>8} {'max acc':>8} {'loss: =':>8} {'±1':>5}"
            f" {'seed =':>7} {'acc: =':>7} {'±1':>5} {'seed =':>7}")  # fmt: skip
    lines = ["", "Sweet spot (lr): predicted (second order; with the kink term), measured; how often predicted =",
             "measured / within one grid step (bootstrap over seeds; per single seed):",
             head, "-" * len(head)]  # fmt: skip
    for s in spots:
        lines.append(
            f"{s['noise_level']:>6g} {sig(s['predicted_lr']):>9} {sig(s['predicted_lr_kink']):>6}"
            f" {sig(s['measured_lr_loss']):>8}"
            f" {sig(s['measured_lr_acc']):>8}"
            f" {percent(s['bootstrap_coincide_loss']):>8} {percent(s['bootstrap_within_one_step_loss']):>5}"
            f" {percent(s['seeds_coincide_loss']):>7} {percent(s['bootstrap_coincide_acc']):>7}"
            f" {percent(s['bootstrap_within_one_step_acc']):>5} {percent(s['seeds_coincide_acc']):>7}"
        )
    return lines
