"""Measurements: training across learning rates, curvature, and noisy evaluation (torch).

After ``import empirical``: ``empirical.load_run(run_dir)`` gives a finished run's trained model
(eval mode, CPU) and its ``run.json``; ``empirical.data.load(dataset, split)`` a data split;
``empirical.models.build(...)`` a network; ``empirical.sensitivity.measure(model, x, y, ...)`` the
predicted and measured loss increase under weight noise of any classifier, overall and per layer. They are imported on first use, so each command
(``python -m empirical.verify``, ...) loads only the modules it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from empirical import sensitivity
    from empirical.experiment import data, models
    from empirical.sweep.store import load_run

__all__ = ["data", "load_run", "models", "sensitivity"]

_PUBLIC = {
    "data": "empirical.experiment.data",
    "models": "empirical.experiment.models",
    "load_run": "empirical.sweep.store",
    "sensitivity": "empirical.sensitivity",
}


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'empirical' has no attribute {name!r}")
    module = importlib.import_module(_PUBLIC[name])
    return getattr(module, name) if name == "load_run" else module


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
