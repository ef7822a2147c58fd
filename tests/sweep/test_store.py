"""Tests for empirical.sweep.store: atomic writes (mode, no debris), strict JSON and CSV, run records."""

from __future__ import annotations

import json
import math
import os
import stat

import pytest

from empirical.sweep import store


@pytest.fixture
def umask():
    """Set the process umask for one test (restored after)."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_the_mode_the_umask_gives_a_plain_file(tmp_path, umask, mask, mode):
    umask(mask)
    store.atomic_write_bytes(tmp_path / "a.bin", b"x")
    store.write_json(tmp_path / "sub" / "b.json", {"k": 1})
    (tmp_path / "plain.txt").write_text("x")
    for name in ("a.bin", "sub/b.json", "plain.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_a_rewrite_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "f.json"
    store.write_json(path, {"v": 1})
    store.write_json(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.bin"
    store.atomic_write_bytes(path, b"old")
    with pytest.raises(TypeError):
        store.atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_remove_temporaries_deletes_only_leftover_writes(tmp_path):
    (tmp_path / ".run.json.0123abcd.tmp").write_text("half")
    (tmp_path / "run.json").write_text("{}")
    store.remove_temporaries(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_json_is_strict_and_csv_cells_are_empty_where_not_finite(tmp_path):
    store.write_json(tmp_path / "s.json", {"a": math.nan, "b": [math.inf, 0.1]})
    assert json.loads((tmp_path / "s.json").read_text()) == {"a": None, "b": [None, 0.1]}
    rows = [{"x": 1 / 3, "y": math.nan, "z": "ignored"}, {"x": None}]
    store.write_csv(tmp_path / "t.csv", rows, ("x", "y"))
    assert (tmp_path / "t.csv").read_text() == f"x,y\n{1 / 3!r},\n,\n"


def test_reading_a_missing_or_broken_run_names_the_file(tmp_path):
    with pytest.raises(store.RunError, match=r"run\.json does not exist"):
        store.read_run(tmp_path)
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(store.RunError, match=rf"{tmp_path / 'run.json'} is not valid JSON"):
        store.read_run(tmp_path)
