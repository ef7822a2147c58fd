"""The build configuration: a wheel built from the source ships every package and declares what
they import (the benchmark's packages only under its extra)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "empirical")
BENCH = REPO / "empirical" / "bench"
NOT_SOURCE = (".git", ".venv", "build", "results", "*.egg-info", "__pycache__", ".pytest_cache")
# Import name → distribution where they differ, for packages that may not be installed (the extras).
DISTRIBUTIONS = {"backpack": "backpack-for-pytorch", "curvlinops": "curvlinops-for-pytorch"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Iterator[zipfile.ZipFile]:
    """The wheel that ``pip install .`` would install, built from a copy of the working tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = shutil.copytree(REPO, tmp / "source", ignore=shutil.ignore_patterns(*NOT_SOURCE))
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q"]
    done = subprocess.run([*command, "-w", str(tmp)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"building the wheel failed:\n{done.stdout}{done.stderr}"
    (path,) = tmp.glob("noisewise-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def package_dirs() -> set[str]:
    """Every folder with an ``__init__.py`` under the shipped packages, e.g. ``empirical/sweep``."""
    return {p.parent.relative_to(REPO).as_posix() for top in PACKAGES for p in (REPO / top).rglob("__init__.py")}


def test_wheel_ships_every_package_and_nothing_else(wheel):
    shipped = {Path(name).parent.as_posix() for name in wheel.namelist() if name.endswith("/__init__.py")}
    missing = sorted(package_dirs() - shipped)
    assert not missing, f"packages missing from the wheel (pyproject's package discovery): {missing}"
    tops = {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert tops == set(PACKAGES), f"the wheel's top-level folders are {sorted(tops)}"


def requirements(wheel: zipfile.ZipFile) -> dict[str, set[str]]:
    """Declared distributions (canonical names) by extra; ``""`` holds the unconditional ones."""
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    by_extra: dict[str, set[str]] = {}
    for line in wheel.read(name).decode().splitlines():
        if line.startswith("Requires-Dist:"):
            req = Requirement(line.partition(":")[2].strip())
            marker = str(req.marker or "")
            extra = marker.split("extra ==")[1].strip(" \"'") if "extra ==" in marker else ""
            by_extra.setdefault(extra, set()).add(canonicalize_name(req.name))
    return by_extra


def imported_distributions(files: list[Path]) -> set[str]:
    """Distributions (canonical names) of the third-party modules that ``files`` import."""
    modules = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__"}
    owners = metadata.packages_distributions()
    return {canonicalize_name(owners.get(m, [DISTRIBUTIONS.get(m, m)])[0]) for m in third_party}


def source_files(*, bench: bool) -> list[Path]:
    files = [p for top in PACKAGES for p in (REPO / top).rglob("*.py")]
    return [p for p in files if (BENCH in p.parents) == bench]


def test_runtime_imports_are_declared_and_the_benchmarks_are_an_extra(wheel):
    declared = requirements(wheel)
    runtime = declared[""]
    undeclared = imported_distributions(source_files(bench=False)) - runtime
    assert not undeclared, f"imported by theory/ or empirical/ but not in pyproject's dependencies: {undeclared}"
    bench = imported_distributions(source_files(bench=True)) - runtime - declared.get("bench", set())
    assert not bench, f"imported by empirical/bench but in neither the dependencies nor the bench extra: {bench}"
    heavy = {"curvlinops-for-pytorch", "backpack-for-pytorch", "torchvision"}
    assert not heavy & runtime, f"the benchmark's packages must stay in the bench extra: {heavy & runtime}"
    assert "pytest" in declared.get("test", set())
