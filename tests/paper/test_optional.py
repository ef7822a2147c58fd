"""paper.plots.optional: figures 9-11 drawn only when the results hold several noise models, per-layer rows
or a timed model, with what they state (and their LaTeX captions) read from the analysis."""

import math

import matplotlib
import numpy as np
import pytest
from matplotlib.text import Text

from paper.plots import latex, layers, load, noise_models, optional, pcm, style
from tests.paper.synthetic import TIMES, write_results

LAYERS = ("conv1.weight", "conv2.weight", "fc.weight")


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """Results with a flipping additive model (tr(H) ∝ √lr against the reference's falling one), layers and pcm."""
    return load(write_results(tmp_path_factory.mktemp("r") / "res", additive=0.5, layers=LAYERS, pcm=True))


def _draw(module, r):
    with matplotlib.rc_context(style.RC):
        return module.draw(r)


def _texts(fig) -> str:
    return "\n".join(t.get_text() for t in fig.findobj(Text))


def test_plain_results_draw_no_optional_figure_and_remove_stale_ones(tmp_path):
    r = load(write_results(tmp_path / "plain"))
    assert optional.applying(r) == {} and optional.environments(r) == ""
    (tmp_path / "fig").mkdir()
    (tmp_path / "fig" / "fig10_layers.png").write_bytes(b"stale")
    assert optional.render(r, tmp_path / "fig") == []
    assert not (tmp_path / "fig" / "fig10_layers.png").exists()


def test_full_results_render_every_optional_figure_and_its_environment(full, tmp_path):
    assert list(optional.applying(full)) == list(optional.OPTIONAL)
    paths = optional.render(full, tmp_path / "fig")
    assert sorted(p.name for p in paths) == sorted(f"{n}.{e}" for n in optional.OPTIONAL for e in ("pdf", "png"))
    assert all(p.stat().st_size > 5_000 for p in paths)
    text = (latex.write(full, tmp_path / "tex")[-1]).read_text()
    for name, label in optional.LABELS.items():
        assert f"\\includegraphics[width=\\linewidth]{{{name}}}" in text and f"\\label{{{label}}}" in text
    assert "η" not in text and "Σ" not in text and "τ" not in text  # pdflatex-safe


def test_noise_model_figure_states_the_verdicts_conclusion_per_model(full):
    c = full.comparison
    additive = next(m for m in c["models"] if m["noise_model"] == "additive")
    assert c["reference"] == "layer-relative" and additive["conclusion"] == "flips"  # the synthetic laws
    fig = _draw(noise_models, full)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("layer-relative (reference)\nΔL falls")
    assert any(t.startswith("additive: conclusion flips\nΔL rises") for t in titles)
    assert any(t.startswith("pcm: conclusion") for t in titles)
    assert "under additive the conclusion flips ($\\Delta L$ rises" in noise_models.caption(full)
    assert "½η² tr(H)" in _texts(fig) and "gᵀμ + ½μᵀHμ + ½tr(HΣ(t))" in _texts(fig)


def test_noise_model_figure_draws_the_analysis_lr_means_with_shared_lrs(full):
    fig = _draw(noise_models, full)
    top = fig.axes[0]  # reference's ΔL panel: measured and predicted lines per level
    ref = next(m for m in full.comparison["models"] if m["reference"])
    ys = [list(line.get_ydata()) for line in top.get_lines() if len(line.get_ydata()) == len(full.lrs) - 0]
    for lv in ref["levels"]:
        for key in ("delta_loss", "predicted"):
            assert [e["mean"] for e in lv[key]["per_lr"]] in ys
    assert all(ax.get_xlim() == fig.axes[0].get_xlim() for ax in fig.axes)  # one lr axis
    low, high = top.get_ylim()
    values = [e["mean"] for lv in ref["levels"] for e in lv["delta_loss"]["per_lr"]]
    assert top.get_yscale() == "log" and low <= min(values) and max(values) <= high < 10 * max(values)


def test_conclusion_holds_when_both_models_move_alike(tmp_path):
    r = load(write_results(tmp_path / "same", additive=-0.5))  # tr(H) ∝ 1/√lr, like the reference
    assert not layers.applies(r) and not pcm.applies(r) and noise_models.applies(r)
    assert "additive: conclusion holds" in _texts(_draw(noise_models, r))
    assert "under additive the conclusion holds" in noise_models.caption(r)


def test_layer_figure_draws_measured_with_se_and_predicted_per_layer_and_level(full):
    fig = _draw(layers, full)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title().split("\n")[0] for ax in panels] == ["layer-relative, η = 0.02", "layer-relative, η = 0.1"]
    lv = layers.level(full, "layer-relative", 0.1)
    assert f"τ = {lv['kendall_tau']:.2f} [" in panels[1].get_title()
    assert f"= {lv['additivity_median_ratio']:.2f} (median)" in panels[1].get_title()
    mine = [e for e in full.layers["per_lr"] if e["noise_level"] == 0.1 and e["layer"] == "fc.weight"]
    lines = [list(line.get_ydata()) for line in panels[1].get_lines()]
    assert [e["measured"] for e in mine] in lines and [e["predicted"] for e in mine] in lines
    top = max(lv["layers"], key=lambda e: e["measured_share"])
    assert f"{top['layer'].replace('_', chr(92) + '_')} carries {100 * top['measured_share']:.0f}\\%" in layers.caption(full)


def test_pcm_figure_labels_times_and_draws_the_blocks_numbers(full):
    fig = _draw(pcm, full)
    acc, loss, share = fig.axes[:3]
    assert [t.get_text() for t in loss.get_xticklabels()] == ["1 s", "1 h", "1 d", "30 d"]
    assert {"1 s", "1 h", "1 d", "30 d", "clean"} <= {t.get_text() for t in acc.get_legend().get_texts()}
    rows = [x for x in full.timed[0]["by_lr"] if x["lr"] == 0.01]
    lines = [list(line.get_ydata()) for line in loss.get_lines()]
    assert [x["measured"] for x in rows] in lines and [x["predicted"] for x in rows] in lines
    shares = [list(line.get_ydata()) for line in share.get_lines()]
    assert any(np.allclose(s, [100 * x["mean_share"] for x in rows]) for s in shares if len(s) == len(TIMES))
    fit = full.timed[0]["prediction_fit"][0]
    assert f"1 s: median {fit['median_ratio']:.2f}, {fit['holds']}/{fit['fails']}/{fit['undetermined']}" in \
        pcm.caption(full)  # fmt: skip


def test_titles_and_tick_labels_do_not_overlap(full):
    for module in (noise_models, layers, pcm):
        fig = _draw(module, full)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
            assert not any(a.overlaps(b) for i, a in enumerate(ticks) for b in ticks[i + 1:]), module.__name__
        titles = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
        assert not any(a.overlaps(b) for i, a in enumerate(titles) for b in titles[i + 1:]), module.__name__
        assert math.isfinite(fig.get_figheight())
