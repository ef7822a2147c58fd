"""Read a results folder for analysis: the run records ``runs/*/run.json``, else ``runs.csv`` + ``noise.csv``.

Nothing is trained or recomputed; the rows come back as the sweep wrote them (numbers as floats,
empty cells as NaN).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from empirical.analysis.stats import num
from empirical.sweep import store

TEXT_COLUMNS = ("run_id", "status", "failure", "noise_model", "layer")  # the columns of the CSV files that hold text


class LoadError(ValueError):
    """A results folder cannot be analysed; the message names it and what is expected."""


def load(out: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """(run rows, noise rows, activation) of a results folder: from the run records, else from the CSVs.

    The activation is the records' ``config["activation"]`` (top-level ``activation`` in records written
    before the config was nested), else ``config.json``'s; None where runs disagree or none names it.
    """
    out = Path(out)
    if not out.is_dir():
        raise LoadError(f"{out} is not a directory; give a results folder written by python -m empirical.hessian_sweep")
    records = list(store.finished_runs(out).values())
    if records:
        activations = {(r.get("config") or {}).get("activation", r.get("activation")) for r in records}
        activation = activations.pop() if len(activations) == 1 else None
        return store.run_rows(records), store.noise_rows(records), activation
    if (out / "runs.csv").is_file() and (out / "noise.csv").is_file():
        activation = None
        try:
            activation = json.loads((out / "config.json").read_text())["sweep"]["activation"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return read_csv(out / "runs.csv"), read_csv(out / "noise.csv"), activation
    raise LoadError(
        f"{out} holds no finished runs (runs/*/run.json) and no runs.csv + noise.csv; "
        "give a results folder written by python -m empirical.hessian_sweep"
    )


def layer_rows(out: str | Path) -> list[dict[str, Any]]:
    """The rows of ``layers.csv`` of a results folder (from the run records, else the file); [] without any."""
    out = Path(out)
    records = list(store.finished_runs(out).values())
    if records:
        return store.layer_rows(records)
    return read_csv(out / "layers.csv") if (out / "layers.csv").is_file() else []


def noise_model(out: str | Path) -> str | None:
    """The sweep's ``noise_model`` (the reference of the comparison) from ``config.json``; None if it names none."""
    try:
        return json.loads((Path(out) / "config.json").read_text())["sweep"]["noise_model"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``runs.csv``, ``noise.csv`` or ``layers.csv``: text columns as strings, the rest as floats, ``seed`` as int
    (−1 where empty)."""
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise LoadError(f"{path} is unreadable ({e})") from None
    out = []
    for row in rows:
        parsed: dict[str, Any] = {key: value if key in TEXT_COLUMNS else num(value) for key, value in row.items()}
        if not isinstance(parsed.get("run_id"), str) or not math.isfinite(num(parsed.get("lr"))):
            raise LoadError(f"{path} lacks run_id/lr in a row; is it a runs.csv or noise.csv?")
        seed = num(parsed.get("seed"))
        parsed["seed"] = int(seed) if math.isfinite(seed) else -1
        out.append(parsed)
    return out
