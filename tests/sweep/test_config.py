"""Configuration: presets, TOML files, overrides and the checks at the door."""

import pytest

from empirical.sweep import config as cfg


def test_presets_resolve_and_overrides_win_over_file_over_preset(tmp_path):
    toml = tmp_path / "sweep.toml"
    toml.write_text('[sweep]\nepochs = 7\nlrs = [0.5, 0.05]\nmodel = "mlp"\n')
    c = cfg.resolve("smoke", toml, model="cnn1d", samples=None)
    assert (c.epochs, c.lrs, c.model, c.preset) == (7, (0.5, 0.05), "cnn1d", "smoke")
    assert c.samples == cfg.PRESETS["smoke"]["samples"]  # a None override leaves the value alone
    for name in cfg.PRESETS:
        assert cfg.resolve(name).preset == name


@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"lrs": [0.1, 0.0]}, "0.0"),
        ({"lrs": [-0.1]}, "-0.1"),
        ({"lrs": [float("nan")]}, "nan"),
        ({"model": "vgg"}, "'vgg'"),
        ({"dataset": "imagenet"}, "'imagenet'"),
        ({"noise_model": "gaussian"}, "'gaussian'"),
        ({"noise_levels": [0.1, -0.01]}, "-0.01"),
        ({"samples": 7}, "7"),
        ({"epochs": 0}, "0"),
        ({"seeds": [1, 1]}, "[1, 1]"),
        ({"activation": "swish"}, "'swish'"),
        ({"momentum": 1.0}, "1.0"),
    ],
)
def test_bad_values_are_refused_with_a_message_naming_them(overrides, named):
    with pytest.raises(cfg.ConfigError) as info:
        cfg.resolve("smoke", **overrides)
    assert named in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_preset_key_and_file_are_refused(tmp_path):
    with pytest.raises(cfg.ConfigError, match="'huge'"):
        cfg.resolve("huge")
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rate = 0.1\n")
    with pytest.raises(cfg.ConfigError, match="learning_rate"):
        cfg.resolve("smoke", bad)
    with pytest.raises(cfg.ConfigError, match="missing.toml"):
        cfg.resolve("smoke", tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("lrs = [0.1,\n")
    with pytest.raises(cfg.ConfigError, match="not valid TOML"):
        cfg.resolve("smoke", broken)


def test_run_ids_are_distinct_per_lr_and_seed():
    c = cfg.resolve("default")
    ids = {c.run_id(lr, s) for lr in c.lrs for s in c.seeds}
    assert len(ids) == len(c.lrs) * len(c.seeds)


def test_switching_dataset_drops_the_presets_dataset_options_unless_given(tmp_path):
    assert cfg.resolve("default", dataset="mnist").dataset_options == {}
    assert cfg.resolve("default", dataset="mnist", dataset_options={"limit": 10}).dataset_options == {"limit": 10}
    assert cfg.resolve("default").dataset_options == cfg.PRESETS["default"]["dataset_options"]
