"""Is the second-order ratio measured precisely enough? Its 95% half-width against a target at small η,
and the number of noise samples that would meet it.

The target (:data:`CI_TARGET` at η ≤ :data:`SMALL_NOISE`) is this package's own: a ratio known to
±0.1 can show a 10% disagreement. No external requirement is checked. The half-width is the
delta-method one, 1.96·se(R).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from empirical.analysis.intervals import Z95
from empirical.analysis.stats import finite, median

CI_TARGET = 0.10  # required ratio CI half-width ...
SMALL_NOISE = 0.05  # ... at noise levels η ≤ this


def ci_requirement(second: list[dict[str, Any]]) -> dict[str, Any]:
    """At η ≤ ``SMALL_NOISE``: is every ratio CI half-width ≤ ``CI_TARGET``, and which samples would make it so.

    The Monte Carlo part of the half-width falls as 1/√samples; the trace part does not. The samples
    needed per row are samples·(MC half-width / room left by the trace part)², rounded up to even
    (inf where the trace part alone exceeds the target).
    """
    rows = [r for r in second if r["noise_level"] <= SMALL_NOISE and finite(r["ratio_se"], r["predicted"])]
    widths, needed, traces = [], [], []
    for r in rows:
        widths.append(Z95 * r["ratio_se"])
        mc = Z95 * r["measured_se"] / r["predicted"]
        predicted_se = r["predicted_se"] if math.isfinite(r["predicted_se"]) else 0.0
        trace = Z95 * abs(r["ratio"]) * predicted_se / r["predicted"]
        traces.append(trace)
        room = CI_TARGET**2 - trace**2
        if room <= 0 or not finite(mc, r["samples"]):
            needed.append(math.inf)
        else:
            needed.append(2 * math.ceil(r["samples"] * mc**2 / room / 2))
    worst = max(widths, default=math.nan)
    return {
        "max_noise_level": SMALL_NOISE, "target_half_width": CI_TARGET, "rows": len(rows),
        "max_half_width": worst, "median_half_width": median(widths),
        "met": bool(rows) and worst <= CI_TARGET,
        "samples_now": max((r["samples"] for r in rows), default=math.nan),
        "samples_needed": max(needed, default=math.nan),
        "samples_needed_median_run": float(np.median(needed)) if needed else math.nan,
        "max_trace_half_width": max(traces, default=math.nan),
    }  # fmt: skip
