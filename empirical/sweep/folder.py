"""The results folder of a sweep: what preparing it would do, preparing it, and assembling its tables.

A folder is created, resumed (same config), given a new ``config.json`` (another config, but no
finished run), or deleted first (``--overwrite``). The tables (``runs.csv``, ``noise.csv``,
``summary.json``) are rebuilt from the run records alone, so runs may finish in any order.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy
import torch

from empirical import analysis, cli
from empirical.sweep import config as cfg
from empirical.sweep import store
from empirical.sweep.store import LAYER_COLUMNS, NOISE_COLUMNS, RUNS_COLUMNS


def plan(out: Path, config: cfg.SweepConfig, overwrite: bool) -> tuple[str, str]:
    """What preparing ``out`` would do, found without writing: ``(action, plan)``, ``plan`` a phrase.

    Actions: ``"create"`` (no folder, or an empty one), ``"resume"`` (same config), ``"replace"``
    (another config but no finished run: replacing ``config.json`` loses nothing), ``"reset"``
    (``overwrite``: delete the folder first). Raises :class:`~empirical.cli.UsageError` where the
    folder holds finished runs of another config, or is not a results folder, and ``overwrite``
    is not given; or where ``out`` or a parent of it is a file.
    """
    for path in (out, *out.parents):  # the nearest existing one must be a folder
        if path.exists():
            if not path.is_dir():
                raise cli.UsageError(f"--out {out}: {path} is a file, not a folder; choose another --out")
            break
    if not out.exists() or not any(out.iterdir()):
        return "create", "create it and write config.json"
    existing = out / "config.json"
    if not existing.is_file():
        if not overwrite:
            raise cli.UsageError(f"{out} exists and is not a results folder; choose another --out or pass --overwrite")
        return "reset", "delete it (--overwrite: not a results folder) and start afresh"
    try:
        old = json.loads(existing.read_text()).get("sweep")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        old = None
    new = config.to_dict()
    if old == new:
        return "resume", "resume it (same config)"
    old = old if isinstance(old, dict) else {}
    changed = ", ".join(sorted(k for k in set(new) | set(old) if old.get(k) != new.get(k))) if old else ""
    differs = f"differs in: {changed}" if changed else "is unreadable"
    if not any((out / "runs").glob("*/run.json")):
        return "replace", f"replace its config.json (which {differs}): no run has finished, nothing is lost"
    if not overwrite:
        raise cli.UsageError(
            f"{out} holds results of a different config (its config.json {differs}); choose another --out or pass "
            "--overwrite to delete them"
        )
    return "reset", f"delete its results (--overwrite; its config.json {differs}) and start afresh"


def prepare(out: Path, config: cfg.SweepConfig, action: str, device: str) -> None:
    """Carry out ``action`` from :func:`plan` and write ``config.json``."""
    if action == "reset":
        shutil.rmtree(out)
    if out.exists():
        store.remove_temporaries(out)  # table writes cut short by a kill
    store.write_json(out / "config.json", {"sweep": config.to_dict(), "environment": environment(), "device": device})


def environment() -> dict[str, Any]:
    """Versions of the package, torch, numpy and Python, and the git commit when run from a checkout."""
    try:
        version = metadata.version("noisewise")
    except metadata.PackageNotFoundError:
        version = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "noisewise": version,
        "git_commit": commit,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def assemble(out: Path, config: cfg.SweepConfig, *, summary: bool = True) -> str:
    """Rebuild runs.csv, noise.csv, layers.csv and (with ``summary``) summary.json from the run records;
    returns the tables and verdict ("" without ``summary``).

    During a sweep the tables are rebuilt as each run ends, the summary (its bootstraps take seconds)
    once at the end: a killed sweep loses no run, and ``python -m empirical.verify`` makes the summary.
    """
    records = list(store.finished_runs(out).values())
    run_rows, noise_rows, layer_rows = store.run_rows(records), store.noise_rows(records), store.layer_rows(records)
    store.write_csv(out / "runs.csv", run_rows, RUNS_COLUMNS)
    store.write_csv(out / "noise.csv", noise_rows, NOISE_COLUMNS)
    store.write_csv(out / "layers.csv", layer_rows, LAYER_COLUMNS)  # header only without layer_seeds
    if not summary:
        return ""
    s = analysis.summarize(config.to_dict(), run_rows, noise_rows, layer_rows=layer_rows, activation=config.activation)
    store.write_json(out / "summary.json", s)
    return analysis.report(s)
