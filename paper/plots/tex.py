"""Text for pdflatex: LaTeX's special characters escaped."""

from __future__ import annotations

import math
from typing import Any

SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
           "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


def escape(text: Any) -> str:
    """``text`` (any value, as ``str``) with LaTeX's special characters escaped."""
    return "".join(SPECIAL.get(c, c) for c in str(text))


def fixed(value: Any, digits: int = 2) -> str:
    """A number from summary.json (NaN written as null) with ``digits`` decimals; '--' where it is not finite."""
    return "--" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
