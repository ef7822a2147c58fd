"""The documentation agrees with the code: the results format, the README's outputs, code fences,
commands, the README's Python examples, and CI's install."""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import re
from pathlib import Path

import pytest

from empirical import hessian_sweep
from empirical.sweep import schema, store

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
RESULTS_DOC = REPO / "docs" / "results.md"
DOCS = [README, *sorted((REPO / "docs").glob("*.md"))]


def sections(text: str) -> dict[str, str]:
    """Markdown ``#``-headings → the text under each (up to the next heading of any level)."""
    parts = re.split(r"^#+ (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def first_cells(section: str) -> list[str]:
    """The backticked first cell of every table row, e.g. ``run_id``."""
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)


def fence_errors(text: str) -> list[str]:
    """Code fences not alone on their line, or unbalanced: an opening fence may name a language."""
    errors, open_at = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if "```" not in line:
            continue
        if open_at is None and re.fullmatch(r"```[\w+-]*", line.strip()):
            open_at = number
        elif open_at is not None and line.strip() == "```":
            open_at = None
        else:
            errors.append(f"line {number}: {line.strip()[:60]!r} is not a fence alone on its line")
    if open_at is not None:
        errors.append(f"the fence opened on line {open_at} is never closed")
    return errors


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.M | re.S)


def test_results_doc_is_the_schema():
    assert RESULTS_DOC.read_text(encoding="utf-8") == schema.markdown(), (
        "docs/results.md is stale: python -m empirical.sweep.schema > docs/results.md"
    )


def test_results_doc_has_every_column_and_key_once():
    doc = sections(RESULTS_DOC.read_text(encoding="utf-8"))
    assert first_cells(doc["Files"]) == [f.path for f in schema.FILES]
    for heading, _, columns in schema.TABLES:
        assert first_cells(doc[heading]) == list(schema.names(columns)), heading
        assert len(set(schema.names(columns))) == len(columns), f"{heading} names a column twice"


def test_readme_outputs_list_the_files_and_link_the_format():
    outputs = sections(README.read_text(encoding="utf-8"))["Outputs (`results/<name>/`)"]
    assert "[docs/results.md](docs/results.md)" in outputs
    listed = re.findall(r"^- `([^`]+)`: (.+)$", outputs, flags=re.M)
    assert listed == [(f.path, f.holds) for f in schema.FILES]


def test_writers_and_readers_use_the_schemas_columns():
    load = importlib.import_module("paper.plots.load")  # paper.plots.load is also a function's name
    assert store.RUNS_COLUMNS == schema.names(schema.RUNS)
    assert store.NOISE_COLUMNS == schema.names(schema.NOISE)
    assert store.LAYER_COLUMNS == schema.names(schema.LAYERS)
    assert set(load.RUNS_COLUMNS) <= set(schema.names(schema.RUNS)), "paper/plots/load.py needs unknown columns"
    assert set(load.NOISE_COLUMNS) <= set(schema.names(schema.NOISE)), "paper/plots/load.py needs unknown columns"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_code_fences_are_alone_on_their_line_and_balanced(path):
    assert fence_errors(path.read_text(encoding="utf-8")) == []


def test_the_fence_check_finds_a_paragraph_glued_to_a_fence():
    assert fence_errors("```bash\nrun\n``` In Python, ...\ntext\n") != []
    assert fence_errors("```bash\nrun\n") == ["the fence opened on line 1 is never closed"]
    assert fence_errors("```python\nx = 1\n```\n") == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_commands_name_existing_modules(path):
    modules = set(re.findall(r"python3? -m ([\w.]+)", path.read_text(encoding="utf-8")))
    missing = sorted(m for m in modules if importlib.util.find_spec(m) is None)
    assert not missing, f"{path.name} runs modules that do not exist: {missing}"


def test_ci_installs_and_tests_as_the_readme_says():
    readme = sections(README.read_text(encoding="utf-8"))
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    (setup,) = code_blocks(readme["Set up (once, from the repository root)"], "bash")
    (tests,) = code_blocks(readme["Tests"], "bash")
    assert setup.strip() in ci and tests.strip() in ci


@pytest.fixture(scope="module")
def smoke_folder(tmp_path_factory, tiny_toml) -> Path:
    """A folder holding ``results/smoke`` with the one run the README loads (tiny data, 2 epochs)."""
    root = tmp_path_factory.mktemp("readme")
    (root / "tiny.toml").write_text(tiny_toml)
    argv = ["--preset", "smoke", "--config", str(root / "tiny.toml"), "--lrs", "0.1", "--executor", "serial"]
    assert hessian_sweep.main([*argv, "--out", str(root / "results" / "smoke")]) == 0
    return root


def test_readme_python_examples_run(smoke_folder, monkeypatch, capsys):
    blocks = code_blocks(README.read_text(encoding="utf-8"), "python")
    assert blocks, "the README shows no ```python example"
    monkeypatch.chdir(smoke_folder)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_a_results_folder_holds_exactly_the_schemas_files_columns_and_keys(smoke_folder):
    out = smoke_folder / "results" / "smoke"
    run = out / "runs" / "lr0.1_seed0"
    written = {p.relative_to(out).as_posix().replace(run.name, "<run_id>") for p in out.rglob("*") if p.is_file()}
    assert written == {f.path for f in schema.FILES} - {"slurm/"}
    for name, columns in (("runs.csv", schema.RUNS), ("noise.csv", schema.NOISE), ("layers.csv", schema.LAYERS)):
        with (out / name).open() as f:
            assert tuple(next(csv.reader(f))) == schema.names(columns), name
    for path, keys in ((out / "summary.json", schema.SUMMARY), (run / "run.json", schema.RUN),
                       (out / "config.json", schema.CONFIG)):  # fmt: skip
        assert set(json.loads(path.read_text())) == set(schema.names(keys)), path.name
