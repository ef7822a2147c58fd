"""``python -m empirical.verify RESULTS_DIR``: does the theory predict the measurement?

Pure analysis of a results folder (the run records ``runs/*/run.json``, or ``runs.csv`` and
``noise.csv`` when the records are absent): nothing is trained or recomputed. The same analysis runs
at the end of every sweep and lands in ``summary.json["verification"]`` (layout in
``docs/results.md``). Everything is on the test split; ΔL is mean cross-entropy (nats).

What is compared (every interval is 95%):

- **Second order.** Per (run, noise level η): measured ΔL ± its Monte Carlo standard error against
  ½η² tr(HΣ₁) ± ½η²·se(tr), and their ratio R = measured / predicted. The ratio's interval is
  the delta method, R ± 1.96·√(se_m² + R²·se_p²)/p (the standard errors are independent: noise
  draws and trace probes use separate generators); across runs, per level, the slope and R² of
  measured against predicted, linear and log–log.
- **Fourth order.** The same with ½η² tr(HΣ₁) + η⁴ M/24, M = E_v[D⁴L[v,v,v,v]] (v ~ N(0, Σ₁),
  ``empirical.curvature.fourth_order``). The *breakdown level* of a prediction in a run is the largest η
  such that at every tested level up to it the prediction is within 10% of the measurement
  (|p − m| ≤ 0.1·|m|); ``..._ci`` relaxes "within" to "the ratio's interval reaches the 10% band".
- **Variance.** The spread of ΔL across noise draws: measured standard deviation (± its
  normal-theory error, s/√(2(pairs − 1)), antithetic pairs counted once) against
  √(η² gᵀΣ₁g + ½η⁴ tr((HΣ₁)²)) (``empirical.curvature.variance_terms``).
- **Which curvature explains robustness.** Spearman ρ across learning rates (seed means) between
  each curvature, tr(H) (``trace``) or tr(HΣ₁) (``noise_trace``), and each target, ΔL
  (``delta_loss``) or clean − noisy accuracy (``acc_drop``), per level; percentile intervals from
  a bootstrap that resamples seeds within each learning rate.
- **Sweet spot.** Per level, the lr the theory picks (argmin of clean loss + predicted ΔL) against
  the measured argmin of noisy loss and argmax of noisy accuracy, over learning rates none of whose
  seeds diverged; how often they coincide or sit one grid step apart, per seed and over the
  bootstrap.

The verdict reports what comes out; nothing is fitted to make theory and measurement agree.
Caveat: a piecewise-linear (ReLU) network's Hessian misses the curvature at activation
kinks, which Gaussian noise feels; a second-order ratio away from 1 even at the smallest η is then
expected from the kinks, not from higher-order terms, and D⁴L misses them too.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, NoReturn

import numpy as np
from scipy import stats

from empirical.sweep import store
from theory import predict

Z95 = 1.959963984540054
WITHIN = 0.10  # "within 10% of the measurement"
CI_TARGET = 0.10  # the requirement: ratio CI half-width ≤ 0.1 at η ≤ SMALL_NOISE
SMALL_NOISE = 0.05
BOOTSTRAP = 2000
PIECEWISE_LINEAR = ("relu",)
CURVATURES = {"trace": "hessian_trace_test", "noise_trace": "noise_trace_test"}
TARGETS = ("delta_loss", "acc_drop")
_TEXT_COLUMNS = ("run_id", "status", "failure", "noise_model")


class VerifyError(ValueError):
    """A results folder cannot be analysed; the message names it and what is expected."""


# ----------------------------------------------------------------------------- small pure helpers


def _num(value: Any) -> float:
    """A finite-or-NaN float from a record value (None, '' and non-numbers become NaN)."""
    if value is None or isinstance(value, bool) or value == "":
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def compare(measured: float, measured_se: float, predicted: float, predicted_se: float) -> dict[str, Any]:
    """Ratio measured/predicted with its delta-method standard error and 95% interval; agreement flags.

    The ratio is defined for a finite, positive prediction (NaN otherwise). ``within_10pct``:
    |predicted − measured| ≤ 0.1·|measured|; ``compatible_10pct``: the ratio's interval meets that
    band, [1/1.1, 1/0.9]; ``ci_contains_1``: the interval holds 1.
    """
    ratio = ratio_se = math.nan
    if _finite(measured, predicted) and predicted > 0:
        ratio = measured / predicted
        pse = predicted_se if math.isfinite(predicted_se) else 0.0
        if math.isfinite(measured_se):
            ratio_se = math.sqrt(measured_se**2 + ratio**2 * pse**2) / predicted
    low, high = ratio - Z95 * ratio_se, ratio + Z95 * ratio_se
    within = _finite(measured, predicted) and abs(predicted - measured) <= WITHIN * abs(measured)
    return {
        "ratio": ratio,
        "ratio_se": ratio_se,
        "ratio_ci_low": low,
        "ratio_ci_high": high,
        "rel_error": (predicted - measured) / abs(measured) if _finite(measured, predicted) and measured else math.nan,
        "within_10pct": bool(within),
        "compatible_10pct": bool(_finite(low, high) and low <= 1 / (1 - WITHIN) and high >= 1 / (1 + WITHIN)),
        "ci_contains_1": bool(_finite(low, high) and low <= 1 <= high),
    }


def line_fit(x: Iterable[float], y: Iterable[float]) -> dict[str, float]:
    """Least squares y = intercept + slope·x: slope with its standard error, intercept, R², n."""
    x, y = np.asarray(list(x), float), np.asarray(list(y), float)
    n = len(x)
    out = {"slope": math.nan, "slope_se": math.nan, "intercept": math.nan, "r2": math.nan, "n": n}
    if n < 2 or np.ptp(x) == 0:
        return out
    res = stats.linregress(x, y)
    out.update(slope=float(res.slope), intercept=float(res.intercept), r2=float(res.rvalue**2))
    out["slope_se"] = float(res.stderr) if n > 2 else math.nan
    return out


def breakdown_level(levels: list[float], ok: list[bool]) -> float | None:
    """Largest level such that ``ok`` holds at it and at every smaller level (None if not at the first)."""
    last = None
    for eta, good in sorted(zip(levels, ok)):
        if not good:
            break
        last = eta
    return last


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman ρ between the rows of a and b, shape (B, n) each -> (B,); NaN for a constant row."""
    ra, rb = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(1) / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))


def _pool(values: list[float], ses: list[float]) -> tuple[float, float]:
    """Mean of n estimates and the standard error of that mean, √(Σ se²)/n."""
    n = len(values)
    return float(np.mean(values)), math.sqrt(sum(s**2 for s in ses)) / n if n else math.nan


def _median(values: Iterable[float]) -> float:
    v = [x for x in values if math.isfinite(x)]
    return float(np.median(v)) if v else math.nan


def _fraction(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else math.nan


# ----------------------------------------------------------------------------- building blocks


def _cells(run_rows: list[dict[str, Any]], noise_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One joined record per (finished run, level) with a measured ΔL: run metrics + noise row."""
    runs = {r["run_id"]: r for r in run_rows if r.get("status") == "ok"}
    cells = []
    for row in noise_rows:
        run = runs.get(row.get("run_id"))
        if run is None or not _finite(_num(row.get("delta_loss")), _num(row.get("noise_level"))):
            continue
        cell = {k: _num(v) for k, v in run.items() if k not in _TEXT_COLUMNS}
        cell.update({k: _num(v) for k, v in row.items() if k not in _TEXT_COLUMNS})
        cell["run_id"], cell["seed"] = run["run_id"], int(_num(run["seed"]))
        cell["acc_drop"] = cell.get("clean_acc", math.nan) - cell.get("noisy_acc_mean", math.nan)
        cells.append(cell)
    return sorted(cells, key=lambda c: (c["lr"], c["seed"], c["noise_level"]))


def _base(c: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": c["run_id"], "lr": c["lr"], "seed": c["seed"], "noise_level": c["noise_level"],
            "samples": c.get("samples", math.nan), "measured": c["delta_loss"],
            "measured_se": c.get("delta_loss_se", math.nan)}  # fmt: skip


def predictions(cells: list[dict[str, Any]]) -> None:
    """Add ``p2``, ``p2_se``, ``p4``, ``p4_se``, ``term4``, ``term4_se`` to each cell (from theory.predict)."""
    for c in cells:
        eta, t, t_se = c["noise_level"], c.get("noise_trace_test", math.nan), c.get("noise_trace_test_se", math.nan)
        m, m_se = c.get("fourth_moment_test", math.nan), c.get("fourth_moment_test_se", math.nan)
        c["p2"] = float(predict.delta_loss_second_order(eta, t))
        c["p2_se"] = float(predict.delta_loss_second_order(eta, t_se))  # linear in tr(HΣ₁)
        c["term4"] = float(predict.delta_loss_fourth_order(eta, 0.0, m))  # η⁴ M / 24
        c["term4_se"] = float(predict.delta_loss_fourth_order(eta, 0.0, m_se))
        c["p4"] = float(predict.delta_loss_fourth_order(eta, t, m))
        c["p4_se"] = math.hypot(c["p2_se"], c["term4_se"]) if _finite(c["p2_se"], c["term4_se"]) else math.nan


def order_rows(cells: list[dict[str, Any]], order: int) -> list[dict[str, Any]]:
    """The contract rows of ``second_order`` (order 2) or ``fourth_order`` (order 4)."""
    rows = []
    for c in cells:
        p, p_se = c[f"p{order}"], c[f"p{order}_se"]
        if not math.isfinite(p):
            continue
        row = {**_base(c), "predicted": p, "predicted_se": p_se}
        if order == 4:
            row.update(fourth_term=c["term4"], fourth_term_se=c["term4_se"],
                       fourth_moment=c["fourth_moment_test"], fourth_moment_se=c["fourth_moment_test_se"],
                       fourth_moment_draws=c.get("fourth_moment_draws", math.nan))  # fmt: skip
        row.update(compare(c["delta_loss"], row["measured_se"], p, p_se))
        rows.append(row)
    return rows


def level_fits(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per level across runs: linear and log–log fits of measured on predicted, median ratio, agreement."""
    by_level: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_level[r["noise_level"]].append(r)
    out = []
    for eta, rs in sorted(by_level.items()):
        pairs = [(r["predicted"], r["measured"]) for r in rs if _finite(r["predicted"], r["measured"])]
        positive = [(p, m) for p, m in pairs if p > 0 and m > 0]
        lin = line_fit([p for p, _ in pairs], [m for _, m in pairs])
        log = line_fit([math.log(p) for p, _ in positive], [math.log(m) for _, m in positive])
        out.append({
            "noise_level": eta, "runs": len(rs), "median_ratio": _median(r["ratio"] for r in rs),
            "within_10pct_fraction": _fraction([r["within_10pct"] for r in rs]),
            "ci_contains_1_fraction": _fraction([r["ci_contains_1"] for r in rs]),
            "max_ci_half_width": max((Z95 * r["ratio_se"] for r in rs if math.isfinite(r["ratio_se"])), default=math.nan),
            "median_ci_half_width": _median(Z95 * r["ratio_se"] for r in rs),
            "linear_slope": lin["slope"], "linear_slope_se": lin["slope_se"], "linear_intercept": lin["intercept"],
            "linear_r2": lin["r2"], "loglog_slope": log["slope"], "loglog_slope_se": log["slope_se"],
            "loglog_intercept": log["intercept"], "loglog_r2": log["r2"], "loglog_runs": log["n"],
        })  # fmt: skip
    return out


def by_lr(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (lr, level), seeds pooled: mean measured and predicted ΔL (errors of the means), ratios."""
    groups: dict[tuple[float, float], list[dict[str, Any]]] = defaultdict(list)
    for c in cells:
        groups[(c["lr"], c["noise_level"])].append(c)
    out = []
    for (lr, eta), cs in sorted(groups.items()):
        m, m_se = _pool([c["delta_loss"] for c in cs], [_num(c.get("delta_loss_se")) for c in cs])
        row: dict[str, Any] = {"lr": lr, "noise_level": eta, "seeds": len(cs), "measured": m, "measured_se": m_se}
        for order in (2, 4):
            p, p_se = _pool([c[f"p{order}"] for c in cs], [c[f"p{order}_se"] for c in cs])
            name = "second_order" if order == 2 else "fourth_order"
            row[name] = {"predicted": p, "predicted_se": p_se, **compare(m, m_se, p, p_se)}
        out.append(row)
    return out


def breakdown_rows(second: list[dict[str, Any]], fourth: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per run: the breakdown level of each prediction (point and interval versions)."""
    runs: dict[str, dict[str, Any]] = {}
    for kind, rows in (("second_order", second), ("fourth_order", fourth)):
        per_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            per_run[r["run_id"]].append(r)
        for run_id, rs in per_run.items():
            entry = runs.setdefault(run_id, {"run_id": run_id, "lr": rs[0]["lr"], "seed": rs[0]["seed"],
                                             "second_order": None, "second_order_ci": None,
                                             "fourth_order": None, "fourth_order_ci": None})  # fmt: skip
            levels = [r["noise_level"] for r in rs]
            entry["levels_tested"] = sorted(levels)
            entry[kind] = breakdown_level(levels, [r["within_10pct"] for r in rs])
            entry[f"{kind}_ci"] = breakdown_level(levels, [r["compatible_10pct"] for r in rs])
    return sorted(runs.values(), key=lambda e: (e["lr"], e["seed"]))


def variance_rows(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (run, level): measured spread of ΔL across draws against √(η² gᵀΣ₁g + ½η⁴ tr((HΣ₁)²))."""
    rows = []
    for c in cells:
        eta, gsg = c["noise_level"], c.get("grad_cov_grad_test", math.nan)
        hs2, hs2_se = c.get("hsigma_sq_trace_test", math.nan), c.get("hsigma_sq_trace_test_se", math.nan)
        s, samples = c.get("delta_loss_std", math.nan), c.get("samples", math.nan)
        if not _finite(gsg, hs2, s):
            continue
        var = float(predict.delta_loss_variance(eta, gsg, hs2))
        var_se = float(predict.delta_loss_variance(eta, 0.0, hs2_se))  # gᵀΣ₁g is exact
        std = math.sqrt(var) if var > 0 else math.nan
        std_se = var_se / (2 * std) if _finite(std, var_se) else math.nan
        pairs = samples / 2
        s_se = s / math.sqrt(2 * (pairs - 1)) if math.isfinite(pairs) and pairs > 1 else math.nan
        grad_part = float(predict.delta_loss_variance(eta, gsg, 0.0))
        rows.append({
            "run_id": c["run_id"], "lr": c["lr"], "seed": c["seed"], "noise_level": eta,
            "measured_std": s, "measured_std_se": s_se, "predicted_std": std, "predicted_std_se": std_se,
            "gradient_share": grad_part / var if var > 0 else math.nan, **compare(s, s_se, std, std_se),
        })  # fmt: skip
    return rows


class _Bootstrap:
    """Resample seeds within each learning rate: per-lr means of per-seed values over B replicates."""

    def __init__(self, reps: int, seed: int) -> None:
        self.reps, self.rng = reps, np.random.default_rng(seed)

    def means(self, per_lr: list[np.ndarray]) -> np.ndarray:
        """per_lr[i]: (seeds_i, Q) values -> (B, n_lr, Q) bootstrap means (same draws for all Q)."""
        out = []
        for values in per_lr:
            idx = self.rng.integers(0, len(values), size=(self.reps, len(values)))
            out.append(values[idx].mean(axis=1))
        return np.stack(out, axis=1)


def spearman(cells: list[dict[str, Any]], boot: _Bootstrap) -> list[dict[str, Any]]:
    """Rows (noise level, curvature, target) with ρ across learning rates and its bootstrap interval."""
    keys = [CURVATURES["trace"], CURVATURES["noise_trace"], *TARGETS]
    by_level: dict[float, dict[float, list[list[float]]]] = defaultdict(lambda: defaultdict(list))
    for c in cells:
        values = [c.get(k, math.nan) for k in keys]
        if _finite(*values):
            by_level[c["noise_level"]][c["lr"]].append(values)
    out = []
    for eta, lrs in sorted(by_level.items()):
        per_lr = [np.asarray(v, float) for _, v in sorted(lrs.items())]
        point = np.stack([v.mean(axis=0) for v in per_lr])  # (n_lr, 4)
        boots = boot.means(per_lr) if len(per_lr) >= 3 else None
        for ci, curvature in enumerate(CURVATURES):
            for ti, target in enumerate(TARGETS):
                rho = low = high = math.nan
                if boots is not None:
                    rho = float(spearman_rows(point[None, :, ci], point[None, :, 2 + ti])[0])
                    rhos = spearman_rows(boots[:, :, ci], boots[:, :, 2 + ti])
                    rhos = rhos[np.isfinite(rhos)]
                    if len(rhos):
                        low, high = (float(q) for q in np.percentile(rhos, [2.5, 97.5]))
                out.append({"noise_level": eta, "curvature": curvature, "target": target, "rho": rho,
                            "ci_low": low, "ci_high": high, "lrs": len(per_lr),
                            "seeds": int(sum(len(v) for v in per_lr)), "bootstrap": boot.reps})  # fmt: skip
    return out


def sweet_spots(run_rows: list[dict[str, Any]], cells: list[dict[str, Any]], boot: _Bootstrap) -> list[dict[str, Any]]:
    """Per level: predicted vs measured best lr, and how often they coincide or sit one grid step apart."""
    grid = sorted({_num(r["lr"]) for r in run_rows})
    unstable = {_num(r["lr"]) for r in run_rows if r.get("status") != "ok"}
    keys = ("pred2", "pred4", "noisy_loss_mean", "neg_acc")  # all minimised
    by_level: dict[float, dict[float, dict[int, list[float]]]] = defaultdict(lambda: defaultdict(dict))
    for c in cells:
        if c["lr"] in unstable:
            continue
        values = [c.get("clean_loss", math.nan) + c["p2"], c.get("clean_loss", math.nan) + c["p4"],
                  c.get("noisy_loss_mean", math.nan), -c.get("noisy_acc_mean", math.nan)]  # fmt: skip
        by_level[c["noise_level"]][c["lr"]][c["seed"]] = values
    out = []
    for eta, lrs in sorted(by_level.items()):
        lr_list = sorted(lrs)
        step = np.array([grid.index(lr) for lr in lr_list])
        per_lr = [np.asarray(list(lrs[lr].values()), float) for lr in lr_list]
        point = np.stack([v.mean(axis=0) for v in per_lr])  # (n_lr, 4)

        def best(values: np.ndarray) -> float | None:  # values (n_lr,)
            return lr_list[int(np.nanargmin(values))] if np.isfinite(values).any() else None

        row: dict[str, Any] = {
            "noise_level": eta, "lrs": len(lr_list),
            "predicted_lr": best(point[:, 0]), "predicted_lr_fourth": best(point[:, 1]),
            "measured_lr_loss": best(point[:, 2]), "measured_lr_acc": best(point[:, 3]),
        }  # fmt: skip
        for target in ("loss", "acc"):
            p, m = row["predicted_lr"], row[f"measured_lr_{target}"]
            row[f"steps_{target}"] = grid.index(p) - grid.index(m) if p is not None and m is not None else None
        # over the bootstrap (seeds resampled within each lr) and over single seeds
        finite = np.isfinite(point[:, [0, 2, 3]]).all()
        boots = boot.means(per_lr) if finite else None
        seeds = sorted(set.intersection(*(set(lrs[lr]) for lr in lr_list)))
        single = [np.asarray([lrs[lr][s] for lr in lr_list], float) for s in seeds]
        for target, col in (("loss", 2), ("acc", 3)):
            if boots is not None:
                d = step[np.argmin(boots[:, :, 0], axis=1)] - step[np.argmin(boots[:, :, col], axis=1)]
                row[f"bootstrap_coincide_{target}"] = float(np.mean(d == 0))
                row[f"bootstrap_within_one_step_{target}"] = float(np.mean(np.abs(d) <= 1))
            else:
                row[f"bootstrap_coincide_{target}"] = row[f"bootstrap_within_one_step_{target}"] = math.nan
            d_seed = [step[np.argmin(v[:, 0])] - step[np.argmin(v[:, col])] for v in single
                      if np.isfinite(v[:, [0, col]]).all()]  # fmt: skip
            row[f"seeds_coincide_{target}"] = _fraction([d == 0 for d in d_seed])
            row[f"seeds_within_one_step_{target}"] = _fraction([abs(d) <= 1 for d in d_seed])
        row.update(seeds=len(single), bootstrap=boot.reps if boots is not None else 0)
        out.append(row)
    return out


def ci_requirement(second: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's requirement at η ≤ 0.05: every ratio CI half-width ≤ 0.1; samples that would meet it.

    The Monte Carlo part of the half-width falls as 1/√samples; the trace part does not. The samples
    needed per row are samples·(MC half-width / room left by the trace part)², rounded up to even.
    """
    rows = [r for r in second if r["noise_level"] <= SMALL_NOISE and _finite(r["ratio_se"], r["predicted"])]
    widths, needed, traces = [], [], []
    for r in rows:
        widths.append(Z95 * r["ratio_se"])
        mc = Z95 * r["measured_se"] / r["predicted"]
        trace = Z95 * abs(r["ratio"]) * (r["predicted_se"] if math.isfinite(r["predicted_se"]) else 0.0) / r["predicted"]
        traces.append(trace)
        room = CI_TARGET**2 - trace**2
        if room <= 0 or not _finite(mc, r["samples"]):
            needed.append(math.inf)
        else:
            needed.append(2 * math.ceil(r["samples"] * mc**2 / room / 2))
    worst = max(widths, default=math.nan)
    return {
        "max_noise_level": SMALL_NOISE, "target_half_width": CI_TARGET, "rows": len(rows),
        "max_half_width": worst, "median_half_width": _median(widths),
        "met": bool(rows) and worst <= CI_TARGET,
        "samples_now": max((r["samples"] for r in rows), default=math.nan),
        "samples_needed": max(needed, default=math.nan),
        "samples_needed_median_run": float(np.median(needed)) if needed else math.nan,
        "max_trace_half_width": max(traces, default=math.nan),
    }  # fmt: skip


def build(
    run_rows: list[dict[str, Any]],
    noise_rows: list[dict[str, Any]],
    *,
    activation: str | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """``summary.json["verification"]`` from the rows of runs.csv and noise.csv (or the run records).

    ``bootstrap`` replicates and ``seed`` drive the resampling (deterministic for a given seed).
    """
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 1:
        raise ValueError(f"bootstrap must be an int >= 1. Got {bootstrap!r}.")
    cells = _cells(run_rows, noise_rows)
    predictions(cells)
    boot = _Bootstrap(bootstrap, seed)
    second, fourth = order_rows(cells, 2), order_rows(cells, 4)
    variance = variance_rows(cells)
    out: dict[str, Any] = {
        "method": {
            "confidence": 0.95, "ratio": "measured / predicted ΔL; delta-method interval",
            "within": WITHIN, "bootstrap": bootstrap, "bootstrap_seed": seed, "split": "test",
            "trace": CURVATURES["trace"], "noise_trace": CURVATURES["noise_trace"],
        },  # fmt: skip
        "activation": activation,
        "runs": len({c["run_id"] for c in cells}),
        "second_order": second,
        "second_order_fit": level_fits(second),
        "fourth_order": fourth,
        "fourth_order_fit": level_fits(fourth),
        "by_lr": by_lr(cells),
        "breakdown": breakdown_rows(second, fourth),
        "variance": variance,
        "variance_fit": level_fits([{**r, "measured": r["measured_std"], "predicted": r["predicted_std"]}
                                    for r in variance]),  # fmt: skip
        "spearman": spearman(cells, boot),
        "sweet_spot": sweet_spots(run_rows, cells, boot),
        "ci_requirement": ci_requirement(second),
    }
    out["verdict"] = verdict(out)
    return out


# ----------------------------------------------------------------------------- verdict


def _holds_up_to(fits: list[dict[str, Any]]) -> tuple[float | None, dict[str, Any] | None]:
    """(largest η with the median ratio within 10% of 1 at it and every level below; first failing fit)."""
    last = None
    for f in fits:
        if not (math.isfinite(f["median_ratio"]) and abs(f["median_ratio"] - 1) <= WITHIN):
            return last, f
        last = f["noise_level"]
    return last, None


def _order_sentence(name: str, fits: list[dict[str, Any]]) -> str:
    if not fits:
        return f"{name}: no runs with this prediction."
    holds, fail = _holds_up_to(fits)
    ratios = ", ".join(f"{f['noise_level']:g}: {_r(f['median_ratio'])}" for f in fits)
    if holds is None:
        head = f"{name}: misses by more than 10% already at the smallest η = {fits[0]['noise_level']:g}"
    elif fail is None:
        head = f"{name}: median ratio within 10% of 1 at every level up to η = {holds:g}"
    else:
        head = f"{name}: median ratio within 10% of 1 up to η = {holds:g}, not at η = {fail['noise_level']:g}"
    return f"{head} (median measured/predicted by η — {ratios})."


def verdict(v: dict[str, Any]) -> list[str]:
    """Plain sentences stating what came out (no thresholds tuned, no claims beyond the numbers)."""
    if not v["second_order"]:
        return ["No finished, non-diverged runs with noise measurements: nothing to verify."]
    lines = [_order_sentence("Second order ½η² tr(HΣ₁)", v["second_order_fit"])]
    lines += _smallest_level_sentence(v["by_lr"])
    small = [r for r in v["second_order"] if r["noise_level"] <= SMALL_NOISE]
    if small:
        lines.append(
            f"At η ≤ {SMALL_NOISE:g} the second-order ratio's 95% CI contains 1 in "
            f"{sum(r['ci_contains_1'] for r in small)} of {len(small)} (run, level) pairs."
        )
    if v["fourth_order"]:
        lines.append(_order_sentence("Fourth order + η⁴E[D⁴L[v⁴]]/24", v["fourth_order_fit"]))
        widths = ", ".join(f"{f['noise_level']:g}: ±{_r(f['median_ci_half_width'])}" for f in v["fourth_order_fit"])
        lines.append(f"Median 95% CI half-width of the fourth-order ratio by η — {widths}.")
        pairs = {(r["run_id"], r["noise_level"]): r for r in v["second_order"]}
        closer = [abs(r["rel_error"]) < abs(pairs[(r["run_id"], r["noise_level"])]["rel_error"])
                  for r in v["fourth_order"] if (r["run_id"], r["noise_level"]) in pairs
                  and _finite(r["rel_error"])]  # fmt: skip
        rel = _median(abs(r["fourth_moment_se"] / r["fourth_moment"]) for r in v["fourth_order"] if r["fourth_moment"])
        lines.append(
            f"The fourth-order prediction is closer to the measurement than the second-order one in "
            f"{sum(closer)} of {len(closer)} (run, level) pairs; E[D⁴L[v⁴]] has a median relative SE of "
            f"{_pct(rel)} per run."
        )
    else:
        lines.append("Fourth order: the runs hold no fourth_moment_test; rerun the sweep to measure it.")
    if v["variance_fit"]:
        spread = _order_sentence("Spread of ΔL (std)", v["variance_fit"])
        lines.append(spread.replace("measured/predicted", "measured/predicted std"))
    lines += _spearman_sentences(v["spearman"])
    spots = v["sweet_spot"]
    if spots:
        same = sum(s["steps_loss"] == 0 for s in spots if s["steps_loss"] is not None)
        near = sum(abs(s["steps_loss"]) <= 1 for s in spots if s["steps_loss"] is not None)
        same_acc = sum(s["steps_acc"] == 0 for s in spots if s["steps_acc"] is not None)
        boot = ", ".join(f"{s['noise_level']:g}: {_pct(s['bootstrap_coincide_loss'])}" for s in spots)
        lines.append(
            f"Sweet spot: the predicted lr is the lowest-noisy-loss lr at {same} of {len(spots)} levels and within "
            f"one grid step at {near}; it is the best-noisy-accuracy lr at {same_acc} of {len(spots)} levels "
            f"(bootstrap over seeds, how often it is the lowest-noisy-loss lr, by η — {boot})."
        )
    req = v["ci_requirement"]
    if req["rows"]:
        state = "met" if req["met"] else "not met"
        if math.isfinite(req["samples_needed"]):
            need = f"about {req['samples_needed']:g} samples would meet it for every run"
        else:
            need = (f"no sample count meets it for every run: the trace's own error alone reaches "
                    f"±{_r(req['max_trace_half_width'])} in some")  # fmt: skip
        if math.isfinite(req["samples_needed_median_run"]):
            need += f", {req['samples_needed_median_run']:g} for the median run"
        lines.append(
            f"Requirement ratio CI ≤ ±{CI_TARGET:g} at η ≤ {SMALL_NOISE:g}: {state} "
            f"(widest ±{_r(req['max_half_width'])}, "
            f"median ±{_r(req['median_half_width'])} with {req['samples_now']:g} samples; {need})."
        )
    if v.get("activation") in PIECEWISE_LINEAR:
        lines.append(
            f"Caveat: the {v['activation']} network is piecewise linear, so H (and D⁴L) miss the curvature at activation "
            "kinks that Gaussian noise feels; a second-order ratio away from 1 at the smallest η reflects that, not "
            "higher-order terms (compare a smooth activation, e.g. --activation gelu)."
        )
    return lines


def _smallest_level_sentence(rows: list[dict[str, Any]]) -> list[str]:
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
    text = (
        f"At the smallest η = {eta:g}, seeds pooled, the ratio ranges from {_r(lo['second_order']['ratio'])} "
        f"(lr {lo['lr']:g}) to {_r(hi['second_order']['ratio'])} (lr {hi['lr']:g}); within 10% for {good} of {len(at)} "
        f"learning rates; significantly below 1 at {_lrs(below)}, above 1 at {_lrs(above)}."
    )
    return [text]


def _lrs(values: list[str]) -> str:
    return f"lr {', '.join(values)}" if values else "no lr"


def _spearman_sentences(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for target, label in (("delta_loss", "ΔL"), ("acc_drop", "the accuracy drop")):
        pick = {(r["noise_level"], r["curvature"]): r for r in rows if r["target"] == target}
        levels = sorted({eta for eta, _ in pick})
        wins = {"trace": 0, "noise_trace": 0}
        for eta in levels:
            a, b = pick.get((eta, "trace")), pick.get((eta, "noise_trace"))
            if a and b and _finite(a["rho"], b["rho"]) and a["rho"] != b["rho"]:
                wins["noise_trace" if b["rho"] > a["rho"] else "trace"] += 1
        if not levels or not any(_finite(r["rho"]) for r in pick.values()):
            lines.append(f"Spearman ({label}): fewer than 3 learning rates with finished runs; no rank correlation.")
            continue
        med = {k: _median(pick[(eta, k)]["rho"] for eta in levels if (eta, k) in pick) for k in wins}
        lines.append(
            f"Across learning rates, {label} ranks with tr(HΣ₁) at median ρ = {_r(med['noise_trace'])} and with tr(H) "
            f"at median ρ = {_r(med['trace'])}; tr(HΣ₁) has the higher ρ at {wins['noise_trace']} of {len(levels)} "
            f"levels, tr(H) at {wins['trace']}."
        )
    return lines


# ----------------------------------------------------------------------------- printing


def _r(x: float | None, digits: int = 2) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _pct(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{100 * x:.0f}%"


def _g(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:g}"


def _ratio_cell(entry: dict[str, Any]) -> str:
    if not math.isfinite(entry["ratio"]):
        return "—"
    half = (entry["ratio_ci_high"] - entry["ratio_ci_low"]) / 2
    return f"{entry['ratio']:.2f}±{half:.2f}" if math.isfinite(half) else f"{entry['ratio']:.2f}"


def format_verdict(v: dict[str, Any]) -> str:
    """The printed verdict table: ratios per lr and level, fits, breakdown, spread, Spearman, sweet spot."""
    lines = ["Verification: does the theory predict the measurement? (test split; 95% intervals)"]
    rows = v["by_lr"]
    levels = sorted({r["noise_level"] for r in rows})
    lrs = sorted({r["lr"] for r in rows})
    cell = {(r["lr"], r["noise_level"]): r for r in rows}
    titles = (("second_order", "½η² tr(HΣ₁)"), ("fourth_order", "½η² tr(HΣ₁) + η⁴ E[D⁴L[v⁴]]/24"))
    for key, title in titles:
        lines += ["", f"Measured / predicted ΔL, prediction {title}; seeds pooled:"]
        head = f"{'lr':>8} " + " ".join(f"{'η=' + format(e, 'g'):>12}" for e in levels)
        lines += [head, "-" * len(head)]
        for lr in lrs:
            cells = [_ratio_cell(cell[(lr, e)][key]) if (lr, e) in cell else "" for e in levels]
            lines.append(f"{lr:>8g} " + " ".join(f"{c:>12}" for c in cells))
    lines += ["", "Across runs per level (measured vs predicted ΔL): median ratio, share of runs within 10% and with"]
    lines[-1] += " CI ∋ 1,"
    lines.append("log–log slope ± SE and R²:")
    head = (f"{'η':>6} {'runs':>4} | {'2nd: ratio':>10} {'≤10%':>5} {'CI∋1':>5} {'slope':>11} {'R²':>5} |"
            f" {'4th: ratio':>10} {'≤10%':>5} {'CI∋1':>5}")  # fmt: skip
    lines += [head, "-" * len(head)]
    fourth = {f["noise_level"]: f for f in v["fourth_order_fit"]}
    for f in v["second_order_fit"]:
        g = fourth.get(f["noise_level"])
        slope = f"{_r(f['loglog_slope'])}±{_r(f['loglog_slope_se'])}"
        tail = f"{'—':>10}"
        if g:
            tail = f"{_r(g['median_ratio']):>10} {_pct(g['within_10pct_fraction']):>5} {_pct(g['ci_contains_1_fraction']):>5}"
        lines.append(
            f"{f['noise_level']:>6g} {f['runs']:>4} | {_r(f['median_ratio']):>10} {_pct(f['within_10pct_fraction']):>5}"
            f" {_pct(f['ci_contains_1_fraction']):>5} {slope:>11} {_r(f['loglog_r2']):>5} | {tail}"
        )
    per_lr: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for b in v["breakdown"]:
        per_lr[b["lr"]].append(b)
    if per_lr:
        lines += ["", "Breakdown level (largest η up to which the prediction stays within 10% of measured), per seed;"]
        lines.append("'CI': up to which the ratio's 95% CI still reaches the 10% band:")
        lines.append(f"{'lr':>8} {'2nd order':>18} {'2nd, CI':>18} {'4th order':>18} {'4th, CI':>18}")
        for lr, bs in sorted(per_lr.items()):
            keys = ("second_order", "second_order_ci", "fourth_order", "fourth_order_ci")
            cols = ["/".join(_g(b[k]) for b in bs) for k in keys]
            lines.append(f"{lr:>8g} " + " ".join(f"{c:>18}" for c in cols))
    if v["variance_fit"]:
        lines += ["", "Spread of ΔL across draws, measured std / predicted √(η²gᵀΣ₁g + ½η⁴tr((HΣ₁)²)):"]
        lines.append("  " + "  ".join(
            f"η={f['noise_level']:g}: {_r(f['median_ratio'])} (CI∋1 {_pct(f['ci_contains_1_fraction'])})"
            for f in v["variance_fit"]
        ))  # fmt: skip
    if v["spearman"]:
        lines += ["", "Spearman ρ across learning rates [bootstrap 95% CI over seeds]:"]
        combos = [(c, t) for c in CURVATURES for t in TARGETS]
        names = {"trace": "tr(H)", "noise_trace": "tr(HΣ₁)", "delta_loss": "ΔL", "acc_drop": "acc drop"}
        head = f"{'η':>6} " + " ".join(f"{names[c] + '~' + names[t]:>22}" for c, t in combos)
        lines += [head, "-" * len(head)]
        sp = {(r["noise_level"], r["curvature"], r["target"]): r for r in v["spearman"]}
        for eta in sorted({r["noise_level"] for r in v["spearman"]}):
            cells = []
            for c, t in combos:
                r = sp.get((eta, c, t))
                cells.append(f"{_r(r['rho'])} [{_r(r['ci_low'])}, {_r(r['ci_high'])}]" if r else "")
            lines.append(f"{eta:>6g} " + " ".join(f"{x:>22}" for x in cells))
    if v["sweet_spot"]:
        lines += ["", "Sweet spot (lr): predicted, measured; how often predicted = measured / within one grid step"]
        lines.append("(bootstrap over seeds; per single seed):")
        head = (f"{'η':>6} {'predicted':>9} {'min loss':>8} {'max acc':>8} {'loss: =':>8} {'±1':>5} {'seed =':>7}"
                f" {'acc: =':>7} {'±1':>5} {'seed =':>7}")  # fmt: skip
        lines += [head, "-" * len(head)]
        for s in v["sweet_spot"]:
            lines.append(
                f"{s['noise_level']:>6g} {_g(s['predicted_lr']):>9} {_g(s['measured_lr_loss']):>8}"
                f" {_g(s['measured_lr_acc']):>8}"
                f" {_pct(s['bootstrap_coincide_loss']):>8} {_pct(s['bootstrap_within_one_step_loss']):>5}"
                f" {_pct(s['seeds_coincide_loss']):>7} {_pct(s['bootstrap_coincide_acc']):>7}"
                f" {_pct(s['bootstrap_within_one_step_acc']):>5} {_pct(s['seeds_coincide_acc']):>7}"
            )
    lines += ["", "Verdict:"] + [f"- {line}" for line in v["verdict"]]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- loading and CLI


def _read_csv(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise VerifyError(f"{path} is unreadable ({e})") from None
    out = []
    for row in rows:
        parsed: dict[str, Any] = {}
        for key, value in row.items():
            parsed[key] = value if key in _TEXT_COLUMNS else _num(value)
        if not isinstance(parsed.get("run_id"), str) or not math.isfinite(_num(parsed.get("lr"))):
            raise VerifyError(f"{path} lacks run_id/lr in a row; is it a runs.csv or noise.csv?")
        parsed["seed"] = int(_num(parsed.get("seed"))) if math.isfinite(_num(parsed.get("seed"))) else -1
        out.append(parsed)
    return out


def load(out: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """(run rows, noise rows, activation) of a results folder: from the run records, else from the CSVs."""
    out = Path(out)
    if not out.is_dir():
        raise VerifyError(f"{out} is not a directory; give a results folder written by python -m empirical.hessian_sweep")
    records = list(store.finished_runs(out).values())
    if records:
        activations = {r.get("activation") for r in records}
        activation = activations.pop() if len(activations) == 1 else None
        return store.run_rows(records), store.noise_rows(records), activation
    if (out / "runs.csv").is_file() and (out / "noise.csv").is_file():
        activation = None
        try:
            activation = json.loads((out / "config.json").read_text())["sweep"]["activation"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return _read_csv(out / "runs.csv"), _read_csv(out / "noise.csv"), activation
    raise VerifyError(
        f"{out} holds no finished runs (runs/*/run.json) and no runs.csv + noise.csv; "
        "give a results folder written by python -m empirical.hessian_sweep"
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise VerifyError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m empirical.verify",
        description="Compare the theory's predictions of the loss increase under weight noise (second and fourth "
        "order, variance, sweet spot) with the measurements in a results folder, and print the verdict. Pure "
        "analysis: nothing is trained or recomputed.",
        epilog="The same analysis is in summary.json['verification'] after every sweep.",
    )
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="a results folder (e.g. results/default)")
    p.add_argument("--json", metavar="PATH", help="also write the verification as JSON to PATH ('-': stdout, no table)")
    p.add_argument(
        "--bootstrap", type=int, default=BOOTSTRAP, help=f"bootstrap replicates over seeds (default {BOOTSTRAP})"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default 0)")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        if args.bootstrap < 1:
            raise VerifyError(f"--bootstrap {args.bootstrap} is invalid; give an integer >= 1")
        run_rows, noise_rows, activation = load(args.results_dir)
        v = build(run_rows, noise_rows, activation=activation, bootstrap=args.bootstrap, seed=args.seed)
    except (VerifyError, store.RunError) as e:
        print(f"verify: error: {e}", file=sys.stderr)
        return 2
    if args.json == "-":
        print(json.dumps(store._strict(v), indent=2))
        return 0
    print(format_verdict(v))
    if args.json:
        store.write_json(Path(args.json), v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
