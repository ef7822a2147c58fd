"""paper.plots: every figure renders from a small results folder, as valid non-empty PDF and PNG."""

import pytest
from matplotlib.text import Text
from PIL import Image

from paper.plots import FIGURES, agreement, kinks, load, orders, render
from paper.plots.__main__ import main
from tests.paper.synthetic import write_results

PNG, PDF = b"\x89PNG\r\n\x1a\n", b"%PDF-"


def _texts(fig) -> str:
    """Every string a figure shows: labels, titles, legend entries, notes."""
    return "\n".join(t.get_text() for t in fig.findobj(Text))


@pytest.mark.parametrize(
    "options",
    [
        {},  # 4 lrs × 2 seeds, one diverged run, with the verification key
        {"verification": False, "lrs": (0.01, 0.1, 1000.0), "seeds": (0,), "diverged": ((1000.0, 0),)},
    ],
    ids=["verification", "one-seed-all-diverged-lr"],
)
def test_every_figure_is_written_as_a_valid_pdf_and_png(tmp_path, options):
    paths = render(load(write_results(tmp_path / "res", **options)), tmp_path / "fig")
    assert sorted(p.name for p in paths) == sorted(f"{n}.{e}" for n in FIGURES for e in ("pdf", "png"))
    for path in paths:
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(PNG) and len(data) > 20_000, path.name
            with Image.open(path) as image:
                lo, hi = image.convert("L").getextrema()
                assert image.width >= 1000 and image.height >= 400 and hi - lo > 200, path.name  # not blank
        else:
            assert data.startswith(PDF) and data.rstrip().endswith(b"%%EOF") and len(data) > 5_000, path.name


def test_diverged_runs_are_marked_not_dropped(tmp_path):
    r = load(write_results(tmp_path / "res"))  # lr 0.3: seed 1 diverged
    for name, draw in FIGURES.items():
        text = _texts(draw(r))
        assert "diverged" in text or "div." in text, name
    assert "1/2" in _texts(FIGURES["fig1_accuracy"](r))
    assert "diverged, no data: lr 0.3 (1/2)" in _texts(agreement.draw(r))


def test_fourth_order_curve_when_verified_and_a_note_when_not(tmp_path):
    verified = _texts(orders.draw(load(write_results(tmp_path / "a"))))
    bare = _texts(orders.draw(load(write_results(tmp_path / "b", verification=False))))
    assert "4th order" in verified and "not in results" not in verified
    assert "4th order" not in bare and "fourth-order prediction not in results" in bare
    assert "no verification in results" in _texts(agreement.draw(load(tmp_path / "b")))


def test_fit_slope_and_r2_are_in_the_legend(tmp_path):
    text = _texts(agreement.draw(load(write_results(tmp_path / "res"))))
    assert "slope 1.1" in text and "R² = " in text  # synthetic ΔL = predicted × (1 + 3η): slope above 1


def test_cli_writes_figures_and_tex_and_names_a_missing_column(tmp_path, capsys):
    folder = write_results(tmp_path / "res")
    assert main([str(folder), "--out", str(tmp_path / "fig"), "--tex", str(tmp_path / "tex")]) == 0
    assert len(list((tmp_path / "fig").glob("*.png"))) == len(FIGURES)
    assert {p.name for p in (tmp_path / "tex").iterdir()} == {"setup.tex", "results_table.tex"}
    header, *rows = (folder / "noise.csv").read_text().splitlines()
    (folder / "noise.csv").write_text("\n".join([header.replace("predicted_delta_loss", "predicted"), *rows]))
    assert main([str(folder), "--out", str(tmp_path / "fig2")]) == 2
    assert "noise.csv has no column 'predicted_delta_loss'" in capsys.readouterr().err


def test_kink_figure_draws_both_ratios_per_lr_and_a_control_panel_when_given(tmp_path):
    r = load(write_results(tmp_path / "relu"))
    fig = kinks.draw(r)
    text = _texts(fig)
    assert len(fig.axes) == 2 and "second order + kink term" in text and "not in these results" not in text
    for lr in (0.01, 0.03, 0.1, 0.3):
        assert f"lr = {lr:g}" in text
    # the synthetic ReLU ΔL holds a kink term of 10%: with it the ratios come down by that factor
    ratios = r.pooled_ratios()
    assert ratios["with_kinks_ratio"] == pytest.approx(ratios["second_order_ratio"] / 1.1)
    control = load(write_results(tmp_path / "gelu", activation="gelu"))
    with_control = kinks.draw(r, control)
    assert len(with_control.axes) == 3 and "control (gelu): second order" in _texts(with_control)
    assert "control: gelu, cnn1d (gelu)" in _texts(with_control) and "1 of 2 seeds diverged" in text


def test_kink_figure_says_what_the_results_lack(tmp_path):
    text = _texts(kinks.draw(load(write_results(tmp_path / "bare", verification=False))))
    assert text.count("not in these results") == 2 and "not in bare/summary.json" in text


def test_cli_draws_the_control_panel(tmp_path):
    main([str(write_results(tmp_path / "relu")), "--control", str(write_results(tmp_path / "gelu", activation="gelu")),
          "--out", str(tmp_path / "fig")])  # fmt: skip
    assert (tmp_path / "fig" / "fig8_kink_ratio.png").stat().st_size > 20_000
    assert main([str(tmp_path / "relu"), "--control", str(tmp_path / "missing"), "--out", str(tmp_path / "f2")]) == 2
