"""Figure style: paper sizes, fonts, and series that stay distinct in greyscale.

A series differs from its neighbours in marker, line style and lightness (colours come from
``cividis``, whose lightness rises monotonically), so a greyscale print keeps them apart.
Figures are built on the Agg canvas, without pyplot's global state, inside ``rc_context(RC)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogFormatter, NullLocator

WIDTH = 6.5  # inches: a one-column paper's text width
RC: dict[str, Any] = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8.5,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.5,
    "errorbar.capsize": 2,
    "axes.grid": True,
    "grid.color": "0.88",
    "grid.linewidth": 0.5,
    "legend.frameon": False,
    "pdf.fonttype": 42,
    "savefig.dpi": 200,
}
MARKERS = ("o", "s", "^", "D", "v", "P", "<", "h", ">", "p")  # "x" is reserved for diverged runs
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
CMAP = matplotlib.colormaps["cividis"]
CLEAN = {"color": "black", "marker": "o", "linestyle": "-"}


def series(i: int, n: int) -> dict[str, Any]:
    """Colour (dark to light), marker and line style of series ``i`` of ``n``."""
    return {
        "color": CMAP(0.85 * i / max(n - 1, 1)),
        "marker": MARKERS[i % len(MARKERS)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
    }


def figure(height: float, width: float = WIDTH) -> Figure:
    """An empty figure (inches) on the Agg canvas, laid out with constrained layout."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, out: Path, name: str) -> list[Path]:
    """Write ``out/name.pdf`` and ``out/name.png``; the PDF carries no timestamp (reproducible)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.pdf", out / f"{name}.png"]
    fig.savefig(paths[0], metadata={"CreationDate": None, "ModDate": None})
    fig.savefig(paths[1])
    return paths


def lr_axis(ax: Any, lrs: np.ndarray, which: str = "x") -> None:
    """Log axis with a tick and label at every swept learning rate (and no minor ticks)."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(FixedLocator(lrs))
    axis.set_minor_locator(NullLocator())
    plain_numbers(axis)
    (ax.set_xlabel if which == "x" else ax.set_ylabel)("learning rate (SGD step size)")


def dodge(x: np.ndarray, i: int, n: int, spread: float = 0.06) -> np.ndarray:
    """``x`` shifted for series ``i`` of ``n`` on a log axis, ``spread`` decades across all n,
    so that coinciding points and error bars of neighbouring series stay visible."""
    return x * 10 ** (spread * (i / max(n - 1, 1) - 0.5)) if n > 1 else x


def plain_numbers(axis: Any) -> None:
    """Tick labels as plain numbers (0.03, 400) rather than powers of ten, minor ones included."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(LogFormatter(labelOnlyBase=False))  # labels some minor ticks on short log ranges


def eta(value: float) -> str:
    """Legend text for a noise level."""
    return f"η = {value:g}"


def y_scale(ax: Any, values: np.ndarray) -> None:
    """A log y axis where every finite value is positive and they span more than a decade, else linear
    (with a line at 0 when the values change sign)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size and (v > 0).all() and v.max() > 10 * v.min():
        ax.set_yscale("log")
    elif v.size and v.min() < 0 < v.max():
        ax.axhline(0.0, color="0.5", linewidth=0.6, zorder=1)
