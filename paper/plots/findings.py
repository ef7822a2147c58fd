"""The paper's findings in words, every number from the sweep's analysis block (``summary.json``).

Three questions, three answers (:func:`answers`): how close the prediction is and up to which η;
what explains ΔL beyond the learning rate; whether the curvature's sweet spot beats the null's.
:func:`abstract` states them in one paragraph, :func:`conclusion` as a list with the strongest
caveat. Nothing here is written before the data exist: with no analysis the text says so.
"""

from __future__ import annotations

import math
from typing import Any

from empirical.analysis.equivalence import HOLDS
from empirical.analysis.verdict import holds_up_to
from paper.plots.load import Results

TR_HS = r"$\operatorname{tr}(H\Sigma_1)$"


def answers(r: Results) -> list[str]:
    """The three answers as LaTeX sentences."""
    a = r.analysis
    if not a["second_order"]:
        return ["These results hold no finished run with a noise measurement, so none of the three questions "
                "is answered."]  # fmt: skip
    kinked = a["kinks"]["state"] == "measured"
    return [_closeness(a, kinked), _identification(a, kinked), _sweet_spot(a)]


def abstract(r: Results) -> str:
    """One paragraph for the abstract."""
    n = r.analysis["runs"]
    return f"On {n} finished runs ({_tex_model(r)} noise): " + " ".join(answers(r)) + "\n"


def conclusion(r: Results) -> str:
    """The conclusion: the three answers, then the strongest caveat (the verdict's second sentence)."""
    items = "\n".join(f"  \\item {x}" for x in answers(r))
    caveat = _caveat(r.analysis)
    return f"\\begin{{enumerate}}\n{items}\n\\end{{enumerate}}\n{caveat}\n"


def _closeness(a: dict[str, Any], kinked: bool) -> str:
    name = "second order plus kink term" if kinked else "second-order prediction"
    key = "with_kinks" if kinked else "second_order"
    upto, stop = holds_up_to(a[f"{key}_fit"])
    first = a[f"{key}_fit"][0]
    where = (f"at no tested level ($\\eta = {first['noise_level']:g}$: {first[HOLDS]} of {first['runs']} runs)"
             if upto is None else f"up to $\\eta = {upto:g}$" + (f", not at $\\eta = {stop['noise_level']:g}$"
                                                              if stop else ""))  # fmt: skip
    second = a["second_order_fit"][0]
    alone = (f" The Hessian term alone, $\\frac12\\eta^2{TR_HS[1:-1]}$, holds in {second[HOLDS]} of {second['runs']} runs "
             f"at $\\eta = {second['noise_level']:g}$." if kinked else "")  # fmt: skip
    return (f"(i) The {name} agrees with the measured $\\Delta L$ within $\\pm10\\%$ (an equivalence test that holds "
            f"in most runs) {where}; its median miss at $\\eta = {first['noise_level']:g}$ is "
            f"{_pct(first['median_miss'])}, against {_pct(first['null_median_miss'])} for a curvature-free "
            f"null.{alone}")  # fmt: skip


def _identification(a: dict[str, Any], kinked: bool) -> str:
    rows = a["identification"]
    if not rows:
        return "(ii) Too few seeds per learning rate to say what explains $\\Delta L$ beyond it."
    eta = min(x["noise_level"] for x in rows)
    at = {x["candidate"]: x for x in rows if x["noise_level"] == eta}
    fit = a["slope"]["with_kinks" if kinked else "second_order"]
    slope = ""
    if math.isfinite(_f(fit["slope"])):
        slope = (f" Across runs, $\\Delta L/(\\frac12\\eta^2)$ at $\\eta \\le {a['slope']['max_noise_level']:g}$ against "
                 f"{TR_HS}{' plus the kink term' if kinked else ''} has slope {_ci(fit, 'slope')} and intercept "
                 f"{_ci(fit, 'intercept')}, where the theory says 1 and 0.")  # fmt: skip
    kink = (f"$\\frac12\\eta^2{TR_HS[1:-1]}$ plus the kink term explains $r^2 = {_r2(at['with_kinks'])}$, "
            if kinked else "")  # fmt: skip
    return (f"(ii) Beyond the learning rate (seeds of one learning rate against each other, $\\eta = {eta:g}$), "
            f"{kink}{TR_HS} explains $r^2 = {_r2(at['noise_trace'])}$ of the variation of $\\Delta L$, "
            f"$\\operatorname{{tr}}(H)$ ${_r2(at['trace'])}$, and the null baselines clean loss ${_r2(at['clean_loss'])}$ "
            f"and weight norm ${_r2(at['weight_norm'])}$ (95\\% bootstrap intervals, conditional on the curvature "
            f"estimates).{slope}")  # fmt: skip


def _sweet_spot(a: dict[str, Any]) -> str:
    spots = a["sweet_spot"]
    if not spots:
        return "(iii) No noise level has a stable learning rate to pick."
    hits = sum(s["predicted_lr_hit"] for s in spots)
    null = sum(s["null_lr_hit"] for s in spots)
    outcomes = [(s["curvature_vs_null"] or {}).get("outcome", "not resolved") for s in spots]
    words = {"better": "has the lower noisy loss at", "worse": "has the higher noisy loss at",
             "same lr": "is the null's own lr at", "not resolved": "differs from it unresolved at"}  # fmt: skip
    counts = ", ".join(f"{w} {outcomes.count(o)}" for o, w in words.items() if outcomes.count(o))
    return (f"(iii) The curvature's sweet spot (argmin of clean loss plus the predicted $\\Delta L$) is the measured "
            f"one at {hits} of {len(spots)} noise levels, the null's (argmin of the clean loss) at {null}; paired over "
            f"the same seeds and noise draws, the curvature's pick {counts} of them.")


def _caveat(a: dict[str, Any]) -> str:
    verdict = a["verdict"]
    caveat = next((x for x in verdict if x.startswith("Strongest caveat")), None)
    if caveat is None:
        return ""
    return "\\paragraph{Caveat.} " + _tex_text(caveat.removeprefix("Strongest caveat: ")) + "\n"


def _f(value: Any) -> float:
    """A number from summary.json (where NaN is written as null)."""
    return math.nan if value is None else float(value)


def _fixed(value: Any) -> str:
    return "--" if not math.isfinite(_f(value)) else f"{_f(value):.2f}"


def _ci(fit: dict[str, Any], key: str) -> str:
    return f"{_fixed(fit[key])} [{_fixed(fit[f'{key}_ci_low'])}, {_fixed(fit[f'{key}_ci_high'])}]"


def _r2(x: dict[str, Any]) -> str:
    if not math.isfinite(_f(x["r2"])):
        return "\\text{--}"
    return f"{_fixed(x['r2'])}\\ [{_fixed(x['r2_ci_low'])}, {_fixed(x['r2_ci_high'])}]"


def _pct(value: Any) -> str:
    return "--" if not math.isfinite(_f(value)) else f"{100 * _f(value):.0f}\\%"


def _tex_model(r: Results) -> str:
    return str(r.analysis["noise_model"]).replace("_", r"\_")


def _tex_text(text: str) -> str:
    """A verdict sentence for pdflatex: its Unicode symbols as LaTeX."""
    table = {"η": r"$\eta$", "½": r"$\frac12$", "Σ₁": r"$\Sigma_1$", "≤": r"$\le$", "%": r"\%", "_": r"\_",
             "ΔL": r"$\Delta L$", "²": r"$^2$", "±": r"$\pm$"}  # fmt: skip
    for k, v in table.items():
        text = text.replace(k, v)
    return text
