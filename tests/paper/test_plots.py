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
        {},  # 4 lrs × 2 seeds, one diverged run
        {"lrs": (0.01, 0.1, 1000.0), "seeds": (0,), "diverged": ((1000.0, 0),)},
    ],
    ids=["two-seeds", "one-seed-all-diverged-lr"],
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


def test_unresolved_or_absent_fourth_order_is_said_and_diverged_lrs_get_a_note(tmp_path):
    lost = ((1000.0, 0), (1000.0, 1))
    r = load(write_results(tmp_path / "a", lrs=(0.01, 0.1, 1000.0), diverged=lost))
    fig = orders.draw(r)
    text = _texts(fig)
    assert "4th order (resolved runs)" not in text and "fourth-order prediction not in results" in text
    assert "every seed diverged at lr 1000: no panel" in text and "lr = 1000" not in text
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2


def test_orders_y_axis_is_scaled_to_the_measurement(tmp_path):
    r = load(write_results(tmp_path / "res"))
    fig = orders.draw(r)
    d = r.delta_loss()
    for ax, lr in zip(fig.axes, r.lrs):
        mine = d.where(d["lr"] == lr)
        y = mine["measured"] / mine["noise_level"] ** 2
        low, high = ax.get_ylim()
        assert low <= y.min() and y.max() <= high and (high - low) < 4 * (y.max() - y.min() + 1e-12) + abs(y.max())


def test_agreement_divides_out_half_eta2_and_states_the_fit(tmp_path):
    r = load(write_results(tmp_path / "res"))
    fig = agreement.draw(r)
    text = _texts(fig)
    assert "theory: y = x" in text and "fit on tr(HΣ₁)" in text and "intercept" in text
    # synthetic ΔL = (1.1 ½η² tr(HΣ₁))(1 + 3η): the kink-adjusted slope is above 1 at η ≤ 0.05
    fit = r.analysis["slope"]["with_kinks"]
    assert f"slope {fit['slope']:.2f} [" in text
    xs = [x for line in fig.axes[0].get_lines() for x in line.get_xdata()]
    d = r.delta_loss()
    trace = d["predicted"] / (0.5 * d["noise_level"] ** 2)
    assert set(trace) <= set(xs) and min(xs) > trace.min() / 2  # tr(HΣ₁) (≥ 36 here), not ½η² tr(HΣ₁) (≤ 6)


def test_cli_writes_figures_and_tex_and_names_a_missing_column(tmp_path, capsys):
    folder = write_results(tmp_path / "res")
    assert main([str(folder), "--out", str(tmp_path / "fig"), "--tex", str(tmp_path / "tex")]) == 0
    assert len(list((tmp_path / "fig").glob("*.png"))) == len(FIGURES)
    assert {p.name for p in (tmp_path / "tex").iterdir()} == {"setup.tex", "results_table.tex", "abstract.tex",
                                                             "conclusion.tex", "optional_figures.tex"}
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
    text = _texts(kinks.draw(load(write_results(tmp_path / "gelu", activation="gelu"))))
    assert "second order + kink term" in text  # a smooth network: the kink term is 0, both panels drawn


def test_cli_draws_the_control_panel(tmp_path):
    main([str(write_results(tmp_path / "relu")), "--control", str(write_results(tmp_path / "gelu", activation="gelu")),
          "--out", str(tmp_path / "fig")])  # fmt: skip
    assert (tmp_path / "fig" / "fig8_kink_ratio.png").stat().st_size > 20_000
    assert main([str(tmp_path / "relu"), "--control", str(tmp_path / "missing"), "--out", str(tmp_path / "f2")]) == 2
