"""Read a results folder (format: ``docs/results.md``) into tables; errors name what is missing.

``runs.csv``, ``noise.csv`` and the row lists of ``summary.json["verification"]`` become
:class:`Table` s of numpy columns (empty cells and JSON nulls are NaN). Per-lr aggregates come
from ``summary.json["per_lr"]`` as :class:`Stats`: mean and 95% t-interval over seeds.
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
#: Keys of the per-(run, level) rows of ``verification["second_order"]`` and ``["fourth_order"]``.
ORDER_KEYS = ("lr", "seed", "noise_level", "measured", "measured_se", "predicted", "predicted_se")
SWEET_SPOT_KEYS = ("noise_level", "measured_lr_acc", "measured_lr_loss", "predicted_lr")
#: The predictions of ``verification["by_lr"]``, each with its pooled ratio over seeds.
PREDICTIONS = ("second_order", "fourth_order", "with_kinks")
_TEXT = {"run_id", "status", "failure", "noise_model", "curvature", "target", "pooling"}


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
    def noise_levels(self) -> np.ndarray:
        """The noise levels η, ascending."""
        return np.unique(self.noise["noise_level"][np.isfinite(self.noise["noise_level"])])

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
        """Per lr: a noise metric (e.g. ``noisy_acc_mean``) at one noise level."""
        cells = []
        for a in self.per_lr:
            levels = [lv for lv in _key(a, "levels", self._where(a)) if math.isclose(lv["noise_level"], noise_level)]
            cells.append(_key(levels[0], metric, f"{self._where(a)} level {noise_level:g}") if levels else None)
        return _stats(cells)

    @property
    def verification(self) -> dict[str, Any] | None:
        """``summary.json["verification"]`` or None where the checks have not run."""
        return self.summary.get("verification")

    def has_check(self, key: str) -> bool:
        """Whether ``summary.json["verification"][key]`` is present."""
        return (self.verification or {}).get(key) is not None

    def verification_rows(self, key: str, required: Iterable[str]) -> Table | None:
        """``verification[key]`` as a :class:`Table`, or None where absent."""
        rows = (self.verification or {}).get(key)
        if rows is None:
            return None
        return table(f"{self.folder / 'summary.json'}[verification][{key}]", rows, required)

    def delta_loss(self) -> Table:
        """Per (run, level): ``lr, seed, noise_level, measured, measured_se, predicted, predicted_se``.

        From ``verification["second_order"]`` when present; otherwise from ``noise.csv``
        (``delta_loss``, ``delta_loss_se``, ``predicted_delta_loss``) with the prediction's SE
        ½η²·``noise_trace_test_se`` from ``runs.csv``. Rows of diverged runs are left out.
        """
        rows = self.verification_rows("second_order", ORDER_KEYS)
        if rows is not None:
            return rows.where(np.isfinite(rows["measured"]))
        n = self.noise.where(np.isfinite(self.noise["delta_loss"]))
        trace_se = dict(zip(self.runs["run_id"], self.runs["noise_trace_test_se"]))
        eta = n["noise_level"]
        return Table(
            f"{self.folder / 'noise.csv'} and runs.csv",
            {
                "lr": n["lr"], "seed": n["seed"], "noise_level": eta,
                "measured": n["delta_loss"], "measured_se": n["delta_loss_se"],
                "predicted": n["predicted_delta_loss"],
                "predicted_se": 0.5 * eta**2 * np.array([trace_se.get(r, np.nan) for r in n["run_id"]], dtype=float),
            },
        )  # fmt: skip

    def pooled_ratios(self) -> Table | None:
        """Per (lr, level), seeds pooled (``verification["by_lr"]``): ``lr``, ``noise_level``, ``seeds``,
        ``pooling`` (how: ``draw by draw`` or ``as independent runs``) and per prediction of
        :data:`PREDICTIONS` ``<name>_ratio``, ``<name>_ci_low``, ``<name>_ci_high``; None where the results have no verification. A prediction missing from the results
        (the kink term before it was measured) has NaN columns.
        """
        rows = (self.verification or {}).get("by_lr")
        if rows is None:
            return None
        flat = [
            {"lr": row["lr"], "noise_level": row["noise_level"], "seeds": row.get("seeds"), "pooling": row.get("pooling"),
             **{f"{name}_{key}": (row.get(name) or {}).get(f"ratio{part}") for name in PREDICTIONS
                for key, part in (("ratio", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high"))}}
            for row in rows
        ]  # fmt: skip
        return table(f"{self.folder / 'summary.json'}[verification][by_lr]", flat, ("lr", "noise_level"))

    def sweet_spots(self) -> Table:
        """Per noise level: measured (by accuracy, by loss) and predicted sweet-spot lr.

        From ``verification["sweet_spot"]`` when present, else ``summary.json["sweet_spot"]``.
        """
        rows = self.verification_rows("sweet_spot", SWEET_SPOT_KEYS)
        if rows is not None:
            return rows
        return table(f"{self.folder / 'summary.json'}[sweet_spot]", self.section("sweet_spot"), SWEET_SPOT_KEYS)

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
