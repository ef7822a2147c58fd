"""Where a sweep's time went: the seconds of every timed part, summed over its runs."""

from __future__ import annotations

import math
from typing import Any

from empirical.sweep.schema import TIMED_PARTS


def by_part(records: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per timed part (``schema.TIMED_PARTS`` order) summed over the run records; parts no run timed are left out."""
    totals: dict[str, float] = {}
    for record in records:
        for part in TIMED_PARTS:
            seconds = record["metrics"].get(f"{part}_seconds")
            if seconds is not None and math.isfinite(seconds):
                totals[part] = totals.get(part, 0.0) + seconds
    return totals


def report(records: list[dict[str, Any]], wall: float, jobs: int) -> str:
    """The lines a sweep prints at its end: the runs' seconds by part with their shares, and the sweep's wall time.

    ``records``: the runs this sweep executed; ``wall``: seconds from the first run's start to the last one's
    end; ``jobs``: runs executed at a time.
    """
    totals = by_part(records)
    total = sum(totals.values())
    if not records or total <= 0:
        return "Time: no run executed in this sweep"
    width = max(map(len, totals))
    lines = [f"Time of the {len(records)} run(s) executed, summed over runs ({_clock(total)} of run time; "
             f"{_clock(wall)} wall with {jobs} at a time):"]  # fmt: skip
    lines += [f"  {part:<{width}}  {_clock(s):>8}  {100 * s / total:5.1f}%" for part, s in totals.items()]
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:04.1f}s" if minutes else f"{rest:.1f}s"
