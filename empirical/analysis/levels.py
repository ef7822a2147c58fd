"""How a noise level is written: η for the Gaussian models, the inference time for a :data:`TIMED` one."""

from __future__ import annotations

import math

TIMED = ("pcm",)  # noise models whose levels are inference times in seconds
#: (seconds, unit) from the largest; a time is written in the largest unit it is a whole multiple of
UNITS = ((31536000.0, "y"), (86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s"))


def time_label(seconds: float) -> str:
    """An inference time as "1 s", "1 h", "1 d", "30 d", "1 y" (the largest unit that divides it; else seconds)."""
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"an inference time must be a positive number of seconds. Got {seconds!r}.")
    for size, unit in UNITS:
        if seconds >= size and float(seconds / size).is_integer():
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def level_label(noise_model: str, level: float) -> str:
    """How a level is written: "η = 0.05" for a Gaussian model, the time for a :data:`TIMED` one."""
    return time_label(level) if noise_model in TIMED else f"η = {level:g}"
