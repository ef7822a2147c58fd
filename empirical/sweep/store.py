"""The results folder: atomic writes, run records, tables.

Its files and columns are defined in :mod:`empirical.sweep.schema` (``docs/results.md``). A run's
``run.json`` is written last (a run without it is unfinished), and ``runs.csv``, ``noise.csv``
and ``summary.json`` are assembled from the run records alone, so runs may finish in any order,
anywhere.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import secrets
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from empirical.sweep import schema

RUNS_COLUMNS = schema.names(schema.RUNS)
NOISE_COLUMNS = schema.names(schema.NOISE)
LAYER_COLUMNS = schema.names(schema.LAYERS)


class RunError(ValueError):
    """A run folder or checkpoint cannot be read; the message names the path."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a kill at any moment leaves the old file or the new one.

    The file gets the mode a plain ``open`` gives (0o666 less the umask, so collaborators can
    read it where the umask lets them): the kernel applies the umask when the temporary is created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new, exclusively created ``.<name>.<random>.tmp`` beside ``path``, opened for writing."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:  # a name drawn twice: draw again
            continue


def remove_temporaries(folder: Path) -> None:
    """Delete the temporary files that a write killed mid-way left in ``folder`` (not recursive)."""
    for path in folder.glob(".*.tmp"):
        path.unlink(missing_ok=True)


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write; NaN/inf become ``null`` so the file is strict JSON."""
    atomic_write_bytes(path, (json.dumps(_strict(obj), indent=2) + "\n").encode())


def write_csv(path: Path, rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """Atomic CSV write; missing or non-finite values are empty cells; floats in full precision."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    atomic_write_bytes(path, buf.getvalue().encode())


def save_model(path: Path, model: nn.Module) -> None:
    """Atomic ``state_dict`` checkpoint, loadable with ``torch.load(path, weights_only=True)``."""
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    atomic_write_bytes(path, buf.getvalue())


def read_run(run_dir: str | Path) -> dict[str, Any]:
    """The ``run.json`` of a finished run."""
    path = Path(run_dir) / "run.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{path} does not exist: the run is unfinished or the folder is not a run") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{path} is not valid JSON ({e})") from None


def load_run(run_dir: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """The trained model of a finished run, in eval mode on the CPU, and its ``run.json``."""
    from empirical.experiment import models

    record = read_run(run_dir)
    cfg = record["config"]
    path = Path(run_dir) / "model.pt"
    model = models.build(
        cfg["model"], tuple(record["input_shape"]), record["num_classes"], activation=cfg["activation"], seed=record["seed"]
    )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except FileNotFoundError:
        raise RunError(f"checkpoint {path} does not exist") from None
    except Exception as e:  # torch raises many types for a damaged file
        raise RunError(f"checkpoint {path} is unreadable: {type(e).__name__}: {str(e).splitlines()[0]}") from None
    return model.eval(), record


def finished_runs(out: Path) -> dict[str, dict[str, Any]]:
    """``run_id → run.json`` for every finished run under ``out/runs``."""
    runs = {}
    for path in sorted((out / "runs").glob("*/run.json")):
        runs[path.parent.name] = read_run(path.parent)
    return runs


def run_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``runs.csv``, sorted by (lr, seed)."""
    return sorted((r["metrics"] for r in records), key=lambda m: (m["lr"], m["seed"]))


def noise_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``noise.csv``, sorted by (lr, seed, noise model, noise level)."""
    rows = [row for r in records for row in r.get("noise", [])]
    return sorted(rows, key=lambda m: (m["lr"], m["seed"], m["noise_model"], m["noise_level"]))


def layer_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``layers.csv``, sorted by (lr, seed, noise level), layers in the model's order."""
    rows = [row for r in records for row in r.get("layers", [])]
    return sorted(rows, key=lambda m: (m["lr"], m["seed"], m["noise_level"]))


def _strict(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    return obj


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return value
