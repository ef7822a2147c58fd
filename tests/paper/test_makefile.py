"""paper/Makefile: figures (and the PDF when TeX is there) from any results folder, dependencies first.

Each test runs make on a copy of paper/ inside a temporary repository root, so the checkout's own
paper/figures and paper/generated stay untouched.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paper.plots import FIGURES
from tests.paper.synthetic import write_results

PAPER = Path(__file__).resolve().parents[2] / "paper"
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository root holding a clean copy of paper/."""
    ignore = shutil.ignore_patterns("figures", "__pycache__", "paper.pdf", "paper.aux", "paper.log", "paper.fls",
                                    "paper.out", "paper.fdb_latexmk", "setup.tex", "results_table.tex", "abstract.tex",
                                    "conclusion.tex", "optional_figures.tex")  # fmt: skip
    shutil.copytree(PAPER, tmp_path / "repo" / "paper", ignore=ignore)
    return tmp_path / "repo"


def _make(root: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = None if path is None else {"PATH": path}
    return subprocess.run(
        [MAKE, "-C", str(root / "paper"), f"PYTHON={sys.executable}", *args],
        cwd=root.parent, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_make_builds_every_figure_and_the_pdf_from_a_folder_relative_to_the_root(root):
    write_results(root / "results" / "small")
    done = _make(root, "RESULTS=results/small")  # called from outside the repository
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(list((root / "paper" / "figures").glob("*.png"))) == len(FIGURES)
    assert len(list((root / "paper" / "figures").glob("*.pdf"))) == len(FIGURES)
    assert (root / "paper" / "generated" / "results_table.tex").stat().st_size > 0
    if shutil.which("pdflatex"):
        assert (root / "paper" / "paper.pdf").read_bytes().startswith(b"%PDF-")
    else:
        assert [line for line in done.stdout.splitlines() if "apt-get install" in line]


def test_without_tex_make_plans_the_figures_and_one_install_line(root, tmp_path):
    write_results(root / "res")
    plan = _make(root, "-n", f"RESULTS={root / 'res'}", path=str(tmp_path / "empty-path"))
    assert plan.returncode == 0, plan.stderr
    assert "-m paper.plots" in plan.stdout and "pdflatex -interaction" not in plan.stdout
    hint = [line for line in plan.stdout.splitlines() if "apt-get install" in line]
    assert len(hint) == 1 and "latexmk texlive-latex-recommended" in hint[0]


def test_missing_results_and_theory_are_made_first(root):
    (root / "paper" / "generated" / "theory.tex").unlink()
    plan = _make(root, "-n", "figures", "RESULTS=results/new", "SWEEP_ARGS=--preset smoke").stdout
    sweep = f"-m empirical.hessian_sweep --out \"{root / 'results' / 'new'}\" --preset smoke"
    assert sweep in plan and "-m theory.derive" in plan
    assert plan.index(sweep) < plan.index("-m paper.plots")


def test_theory_tex_is_rebuilt_when_a_theory_module_changes(root):
    theory = root / "theory"
    theory.mkdir()
    (theory / "derive.py").write_text("")
    tex = root / "paper" / "generated" / "theory.tex"
    os.utime(theory / "derive.py", (1_000, 1_000))
    os.utime(tex, (2_000, 2_000))
    write_results(root / "res")
    assert "-m theory.derive" not in _make(root, "-n", "figures", f"RESULTS={root / 'res'}").stdout
    os.utime(theory / "derive.py", (3_000, 3_000))  # edited after theory.tex was written
    assert "-m theory.derive" in _make(root, "-n", "figures", f"RESULTS={root / 'res'}").stdout


def test_a_control_folder_is_passed_to_the_figures(root):
    write_results(root / "res")
    plan = _make(root, "-n", "figures", f"RESULTS={root / 'res'}", "CONTROL=results/gelu").stdout
    assert f'--control "{root / "results" / "gelu"}"' in plan
    assert "--control" not in _make(root, "-n", "figures", f"RESULTS={root / 'res'}").stdout


def test_help_says_where_results_is_taken_from(root):
    text = _make(root, "help").stdout
    assert "relative to the repository root" in text and "figures" in text and "pdf" in text
