"""Read a results folder (format: ``docs/results.md``) into tables; errors name what is missing.

``runs.csv``, ``noise.csv`` and the row lists of the sweep's noise model's block of
``summary.json["analysis"]["noise_models"]`` become :class:`Table` s of numpy columns (empty cells
and JSON nulls are NaN). Per-lr aggregates come from ``summary.json["per_lr"]`` as :class:`Stats`:
mean and 95% t-interval over seeds. Every comparison of theory with measurement is read from that
one analysis block; there is no second source to fall back on.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

#: Columns the figures read, a subset of the format's (``docs/results.md``; the tests check it); a
#: file without one of them is rejected at load time.
RUNS_COLUMNS = (
    "run_id", "lr", "seed", "status", "test_acc", "hessian_trace_train", "hessian_trace_train_se",
    "hessian_trace_test", "hessian_trace_test_se", "noise_trace_test", "noise_trace_test_se",
    "lambda_max_train", "lambda_max_residual", "stability_bound",
)  # fmt: skip
NOISE_COLUMNS = ("run_id", "lr", "seed", "noise_level", "delta_loss", "delta_loss_se", "predicted_delta_loss")
#: Keys of the per-(run, level) rows of the analysis' ``second_order`` and ``fourth_order``.
ORDER_KEYS = ("lr", "seed", "noise_level", "measured", "measured_se", "predicted", "predicted_se")
SWEET_SPOT_KEYS = ("noise_level", "measured_lr_acc", "measured_lr_loss", "predicted_lr", "null_lr")
#: The predictions of the analysis' ``by_lr``, each with its pooled ratio over seeds.
PREDICTIONS = ("second_order", "fourth_order", "with_kinks")
_TEXT = {"run_id", "status", "failure", "noise_model", "candidate", "pooling", "equivalence", "next"}


class ResultsError(ValueError):
    """A results folder lacks a file, column or key the figures need; the message names it."""


@dataclass(frozen=True)
class Table:
    """Named numpy columns from ``source`` (a file, or a key path inside ``summary.json``)."""

    source: str
    columns: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise ResultsError(f"{self.source} has no column {name!r}; it has: {', '.join(self.columns)}") from None

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), ()))

    def where(self, mask: np.ndarray) -> Table:
        """The rows where ``mask`` is true."""
        return Table(self.source, {k: v[mask] for k, v in self.columns.items()})


@dataclass(frozen=True)
class Stats:
    """Per-lr mean and 95% t-interval over seeds (NaN interval with fewer than two seeds)."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


def table(source: str, rows: Iterable[dict[str, Any]], required: Iterable[str]) -> Table:
    """Rows (dicts of str/number/None) as a :class:`Table`; raises naming the first missing column."""
    rows = list(rows)
    names = list(rows[0]) if rows else []
    for name in required:
        if rows and not all(name in r for r in rows):
            raise ResultsError(f"{source} has no column {name!r} (needed by the figures); it has: {', '.join(names)}")
    return Table(source, {name: _column(source, name, [r.get(name) for r in rows]) for name in (names or required)})


def read_csv(path: Path, required: Iterable[str]) -> Table:
    """A CSV file as a :class:`Table`; checks the header has every ``required`` column."""
    with _open(path) as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise ResultsError(
                f"{path} has no column {missing[0]!r} (needed by the figures; missing: {', '.join(missing)})"
            )
        return table(str(path), reader, required)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``."""
    with _open(path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise ResultsError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path} holds a {type(data).__name__}, expected a JSON object")
    return data


@dataclass(frozen=True)
class Results:
    """A results folder: ``runs.csv``, ``noise.csv``, ``summary.json`` and ``config.json``."""

    folder: Path
    runs: Table
    noise: Table
    summary: dict[str, Any]
    config: dict[str, Any]

    @property
    def sweep(self) -> dict[str, Any]:
        """The resolved sweep config (``config.json["sweep"]``)."""
        return _key(self.config, "sweep", self.folder / "config.json")

    def section(self, key: str) -> Any:
        """``summary.json[key]``; raises naming the file and the key where it is absent."""
        return _key(self.summary, key, self.folder / "summary.json")

    @property
    def per_lr(self) -> list[dict[str, Any]]:
        """``summary.json["per_lr"]``, sorted by learning rate."""
        return sorted(self.section("per_lr"), key=lambda a: a["lr"])

    @property
    def lrs(self) -> np.ndarray:
        """The swept learning rates, ascending (diverged ones included)."""
        return np.array([a["lr"] for a in self.per_lr], dtype=float)

    @property
    def noise_model(self) -> str:
        """The sweep's noise model (``config.json``), the one the figures of ΔL against η draw."""
        return _key(self.sweep, "noise_model", self.folder / "config.json")

    @property
    def noise_levels(self) -> np.ndarray:
        """The sweep's noise model's levels η, ascending (other models' rows of noise.csv left out)."""
        levels = self.noise["noise_level"]
        mine = np.isfinite(levels)
        if "noise_model" in self.noise.columns:
            mine &= self.noise["noise_model"] == self.noise_model
        return np.unique(levels[mine])

    def counts(self, key: str) -> np.ndarray:
        """Per lr: ``runs``, ``ok`` or ``diverged`` (number of seeds)."""
        return np.array([_key(a, key, self._where(a)) for a in self.per_lr], dtype=int)

    def per_lr_run_value(self, column: str) -> np.ndarray:
        """Per lr: the first finite value of a ``runs.csv`` column that every run has, diverged or
        not (e.g. ``stability_bound``); NaN where none."""
        values = []
        for lr in self.lrs:
            column_values = self.runs[column][self.runs["lr"] == lr]
            finite = column_values[np.isfinite(column_values)]
            values.append(finite[0] if finite.size else np.nan)
        return np.array(values, dtype=float)

    def lr_stats(self, metric: str) -> Stats:
        """Per lr: a run metric (e.g. ``test_acc``) over the seeds that did not diverge."""
        return _stats([_key(a, metric, self._where(a)) for a in self.per_lr])

    def level_stats(self, metric: str, noise_level: float) -> Stats:
        """Per lr: a noise metric (e.g. ``noisy_acc_mean``) at one level of the sweep's noise model."""
        cells = []
        for a in self.per_lr:
            levels = [lv for lv in _key(a, "levels", self._where(a)) if math.isclose(lv["noise_level"], noise_level)
                      and lv.get("noise_model", self.noise_model) == self.noise_model]
            cells.append(_key(levels[0], metric, f"{self._where(a)} level {noise_level:g}") if levels else None)
        return _stats(cells)

    @property
    def analysis(self) -> dict[str, Any]:
        """The block of ``summary.json["analysis"]["noise_models"]`` for the sweep's noise model."""
        model = self.noise_model
        for block in self.blocks:
            if block.get("noise_model") == model:
                return block
        raise ResultsError(f"{self.folder / 'summary.json'}[analysis] has no block for noise model {model!r} "
                           f"(config.json's); it has: {', '.join(str(b.get('noise_model')) for b in self.blocks) or 'none'}")  # fmt: skip

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """Every noise model's block of ``summary.json["analysis"]["noise_models"]``, in name order."""
        return self._analysis_key("noise_models")

    @property
    def comparison(self) -> dict[str, Any]:
        """``summary.json["analysis"]["noise_model_comparison"]``: the noise models side by side (``reference``,
        ``models``, ``verdict``)."""
        return self._analysis_key("noise_model_comparison")

    @property
    def layers(self) -> dict[str, Any] | None:
        """``summary.json["analysis"]["layers"]``: the per-layer sensitivity; None where the sweep measured none."""
        return self._analysis_key("layers")

    @property
    def timed(self) -> list[dict[str, Any]]:
        """The blocks of the noise models whose levels are inference times (``timed``: true, e.g. pcm)."""
        return [b for b in self.blocks if b.get("timed")]

    def _analysis_key(self, key: str) -> Any:
        where = self.folder / "summary.json"
        return _key(_key(self.summary, "analysis", where), key, f"{where}[analysis]")

    def rows(self, key: str, required: Iterable[str] = ()) -> Table:
        """The analysis block's row list ``key`` as a :class:`Table`; raises naming it where it is absent."""
        where = f"{self.folder / 'summary.json'}[analysis][{self.analysis['noise_model']}]"
        return table(f"{where}[{key}]", _key(self.analysis, key, where), required)

    def delta_loss(self) -> Table:
        """Per (run, level) with a measured ΔL: ``lr, seed, noise_level, measured, measured_se, predicted,
        predicted_se`` (the analysis' ``second_order``); diverged runs have no rows."""
        rows = self.rows("second_order", ORDER_KEYS)
        return rows.where(np.isfinite(rows["measured"]))

    def pooled_ratios(self) -> Table:
        """Per (lr, level), seeds pooled (the analysis' ``by_lr``): ``lr``, ``noise_level``, ``seeds``,
        ``pooling`` (how: ``draw by draw`` or ``as independent runs``) and per prediction of
        :data:`PREDICTIONS` ``<name>_ratio``, ``<name>_ci_low``, ``<name>_ci_high`` (NaN where the results lack
        the prediction, e.g. the kink term before it was measured).
        """
        flat = [
            {"lr": row["lr"], "noise_level": row["noise_level"], "seeds": row.get("seeds"), "pooling": row.get("pooling"),
             **{f"{name}_{key}": (row.get(name) or {}).get(f"ratio{part}") for name in PREDICTIONS
                for key, part in (("ratio", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high"))}}
            for row in _key(self.analysis, "by_lr", self.folder / "summary.json")
        ]  # fmt: skip
        return table(f"{self.folder / 'summary.json'}[analysis][by_lr]", flat, ("lr", "noise_level"))

    def sweet_spots(self) -> Table:
        """Per noise level: measured (by accuracy, by loss), predicted and null sweet-spot lr."""
        return self.rows("sweet_spot", SWEET_SPOT_KEYS)

    def _where(self, entry: dict[str, Any]) -> str:
        return f"{self.folder / 'summary.json'}[per_lr] entry lr={entry.get('lr')}"


def load(folder: str | Path) -> Results:
    """Read and check a results folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"results folder {folder} does not exist; run `python -m empirical.hessian_sweep --out {folder}`")
    return Results(
        folder=folder,
        runs=read_csv(folder / "runs.csv", RUNS_COLUMNS),
        noise=read_csv(folder / "noise.csv", NOISE_COLUMNS),
        summary=read_json(folder / "summary.json"),
        config=read_json(folder / "config.json"),
    )


def _open(path: Path):
    try:
        return path.open(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(
            f"{path} does not exist: {path.parent} is not a finished results folder "
            f"(run `python -m empirical.hessian_sweep --out {path.parent}`)"
        ) from None


def _key(mapping: dict[str, Any], key: str, where: str | Path) -> Any:
    try:
        return mapping[key]
    except KeyError:
        raise ResultsError(f"{where} has no key {key!r}; it has: {', '.join(mapping)}") from None


def _stats(cells: list[dict[str, Any] | None]) -> Stats:
    def column(key: str) -> np.ndarray:
        return np.array([_float((c or {}).get(key)) for c in cells], dtype=float)

    return Stats(column("mean"), column("ci_low"), column("ci_high"))


def _column(source: str, name: str, values: list[Any]) -> np.ndarray:
    if name in _TEXT:
        return np.array(["" if v is None else str(v) for v in values], dtype=object)
    if any(isinstance(v, (dict, list)) for v in values):  # a nested entry (e.g. a paired comparison): kept as is
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    try:
        return np.array([_float(v) for v in values], dtype=float)
    except ValueError:
        bad = next(v for v in values if not _is_number(v))
        raise ResultsError(f"{source}: column {name!r} holds {bad!r}; expected numbers or empty cells") from None


def _float(value: Any) -> float:
    return math.nan if value is None or value == "" else float(value)


def _is_number(value: Any) -> bool:
    try:
        _float(value)
        return True
    except (TypeError, ValueError):
        return False
