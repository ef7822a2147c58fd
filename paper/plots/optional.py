"""The figures drawn only when the results hold what they show, and their LaTeX environments.

Each module of :data:`OPTIONAL` has ``applies(r)``, ``draw(r)`` and ``caption(r)`` (LaTeX, with the
findings' numbers from ``summary.json``). ``paper/paper.tex`` inputs ``optional_figures.tex``
(:func:`environments`), which holds a figure environment for each one that applies and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import matplotlib

from paper.plots import layers, noise_models, pcm, style
from paper.plots.load import Results

OPTIONAL: dict[str, ModuleType] = {"fig9_noise_models": noise_models, "fig10_layers": layers, "fig11_pcm": pcm}
LABELS = {"fig9_noise_models": "fig:noise-models", "fig10_layers": "fig:layers", "fig11_pcm": "fig:pcm"}


def applying(r: Results) -> dict[str, ModuleType]:
    """The figures of :data:`OPTIONAL` these results can draw."""
    return {name: module for name, module in OPTIONAL.items() if module.applies(r)}


def render(r: Results, out: Path) -> list[Path]:
    """Draw the applying figures into ``out`` (``<name>.pdf`` and ``.png``) and remove the others' files
    there, so that none is left stale from other results."""
    drawn = applying(r)
    paths = []
    with matplotlib.rc_context(style.RC):
        for name, module in drawn.items():
            paths += style.save(module.draw(r), out, name)
    for name in OPTIONAL.keys() - drawn.keys():
        for suffix in (".pdf", ".png"):
            (out / f"{name}{suffix}").unlink(missing_ok=True)
    return paths


def environments(r: Results) -> str:
    """A LaTeX figure environment per applying figure, its caption from the results; '' where none applies."""
    return "".join(
        f"\\begin{{figure}}[tbp]\n  \\centering\n  \\includegraphics[width=\\linewidth]{{{name}}}\n"
        f"  \\caption{{{module.caption(r)}}}\n  \\label{{{LABELS[name]}}}\n\\end{{figure}}\n\n"
        for name, module in applying(r).items()
    )
