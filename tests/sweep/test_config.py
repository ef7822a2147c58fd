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


@pytest.mark.parametrize(
    "line, named, accepted",
    [
        ("lrs = 0.1", "lrs = 0.1", "a list of numbers"),
        ('lrs = "0.1"', "lrs = '0.1'", "a list of numbers"),  # not read one character at a time
        ('lrs = [0.1, "x"]', "lrs = [0.1, 'x']", "a list of numbers"),
        ("seeds = [0.5]", "seeds = [0.5]", "a list of integers"),
        ("epochs = 2.5", "epochs = 2.5", "an integer"),
        ("epochs = true", "epochs = True", "an integer"),  # a bool is not an integer
        ('momentum = "0.9"', "momentum = '0.9'", "a number"),
        ("dataset_options = 3", "dataset_options = 3", "a table"),
        ('curvature_samples = "all"', "curvature_samples = 'all'", "an integer"),
        ("model = 3", "model = 3", "a string"),
        ("augment = 1", "augment = 1", "true or false"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_key_value_and_accepted_type(tmp_path, line, named, accepted):
    toml = tmp_path / "sweep.toml"
    toml.write_text(f"[sweep]\n{line}\n")
    with pytest.raises(cfg.ConfigError) as info:
        cfg.resolve("smoke", toml)
    message = str(info.value)
    assert named in message and accepted in message and "\n" not in message


def test_numbers_become_floats_and_lists_tuples():
    c = cfg.resolve("smoke", lrs=[1, 0.1], momentum=0, noise_levels=[1])
    assert c.lrs == (1.0, 0.1) and c.noise_levels == (1.0,) and c.momentum == 0.0
    assert all(type(v) is float for v in (*c.lrs, *c.noise_levels, c.momentum))


def test_check_refuses_a_config_built_with_a_wrong_type():
    with pytest.raises(cfg.ConfigError, match="epochs = '3'"):
        cfg.check(cfg.SweepConfig(epochs="3"))


def test_a_sweep_or_slurm_entry_that_is_not_a_table_is_refused(tmp_path):
    toml = tmp_path / "sweep.toml"
    toml.write_text("sweep = 3\n")
    with pytest.raises(cfg.ConfigError, match="sweep = 3"):
        cfg.resolve("smoke", toml)
    toml.write_text('slurm = "gpu"\n')
    with pytest.raises(cfg.ConfigError, match="slurm = 'gpu'"):
        cfg.read_toml(toml, "slurm")


@pytest.mark.parametrize("levels", [[0.0, 0.05], [0]])
def test_noise_level_zero_is_refused_as_the_clean_model(levels):
    with pytest.raises(cfg.ConfigError) as info:
        cfg.resolve("smoke", noise_levels=levels)
    assert "> 0" in str(info.value) and "clean model" in str(info.value)


def test_the_primary_noise_model_leaves_the_presets_extra_models_and_pcm_refuses_them():
    assert "additive" not in cfg.resolve("default", noise_model="additive").extra_noise_models
    assert cfg.resolve("default", noise_model="multiplicative").extra_noise_models == {"additive": (0.005, 0.02)}
    with pytest.raises(cfg.ConfigError, match="extra_noise_models with noise_model 'pcm'"):
        cfg.resolve("default", noise_model="pcm", extra_noise_models={"additive": [0.01]})


def test_to_dict_is_what_json_reads_back():
    import json

    config = cfg.resolve("default")
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()
    assert config.to_dict()["extra_noise_models"] == {"additive": [0.005, 0.02]}


def test_a_negative_number_of_control_directions_is_refused_naming_it():
    with pytest.raises(cfg.ConfigError, match=r"control_directions -1 is invalid"):
        cfg.resolve("smoke", control_directions=-1)
    assert cfg.resolve("smoke", control_directions=0).control_directions == 0
