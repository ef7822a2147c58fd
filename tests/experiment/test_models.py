"""Tests for empirical.experiment.models: shapes, parameter counts, seeded init, noise-target naming."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirical.experiment import models

SHAPES = {"mlp": (1, 40), "cnn1d": (1, 40), "resnet20": (3, 32, 32)}
ACTIVATION_MODULES = {
    "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh, "softplus": nn.Softplus
}


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", models.MODELS)
@pytest.mark.parametrize("activation", models.ACTIVATIONS)
def test_output_shape_and_activation(name, activation):
    model = models.build(name, SHAPES[name], 7, activation=activation, seed=0)
    assert model(torch.randn(3, *SHAPES[name])).shape == (3, 7)
    used = {type(m) for m in model.modules()} & set(ACTIVATION_MODULES.values())
    assert used == {ACTIVATION_MODULES[activation]}


def test_activations_listed():
    assert {"relu", "gelu", "tanh", "softplus"} <= set(models.ACTIVATIONS)


def test_cnn1d_is_the_mnist1d_cnn():
    model = models.build("cnn1d", (1, 40), 10, seed=0)
    assert count(model) == 8010
    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0])
            for c in convs] == [(1, 32, 5, 2, 1), (32, 32, 3, 2, 1), (32, 32, 3, 2, 1)]


@pytest.mark.parametrize("shape, features", [((1, 100), 32 * 13), ((2, 3), 32 * 1)])
def test_cnn1d_any_length(shape, features):
    model = models.build("cnn1d", shape, 4, seed=0)
    assert model[-1].in_features == features
    assert model(torch.randn(2, *shape)).shape == (2, 4)


def test_mlp_is_two_hidden_layers_of_width_100():
    model = models.build("mlp", (1, 40), 10, seed=0)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(40, 100), (100, 100), (100, 10)]


def test_resnet20_structure_and_count():
    model = models.build("resnet20", (3, 32, 32), 10, seed=0)
    # He et al. 2016: 0.27M; exactly 269,722 with option-A (parameter-free) shortcuts.
    assert count(model) == 269_722
    weighted = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) == 20
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 19
    widths = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert widths == [16] * 7 + [32] * 6 + [64] * 6
    model.eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_resnet20_option_a_shortcut_subsamples_and_zero_pads():
    model = models.build("resnet20", (3, 32, 32), 10, seed=0)
    shortcut = model.stage2[0].shortcut
    assert not list(shortcut.parameters())
    x = torch.randn(2, 16, 32, 32)
    out = shortcut(x)
    assert out.shape == (2, 32, 16, 16)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])
    assert (out[:, :8] == 0).all() and (out[:, 24:] == 0).all()
    assert isinstance(model.stage1[0].shortcut, nn.Identity)


@pytest.mark.parametrize("name", models.MODELS)
def test_noise_targets_are_conv_and_linear_weights(name):
    model = models.build(name, SHAPES[name], 10, seed=0)
    targets = {n for n, p in model.named_parameters() if n.endswith("weight") and p.ndim >= 2}
    expected = {
        f"{module_name}.weight"
        for module_name, module in model.named_modules()
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear))
    }
    assert targets == expected and targets
    assert all(p.ndim == 1 for n, p in model.named_parameters() if n not in targets)


@pytest.mark.parametrize("name", models.MODELS)
def test_seeded_init_is_reproducible_and_seed_dependent(name):
    first = models.build(name, SHAPES[name], 10, seed=1).state_dict()
    again = models.build(name, SHAPES[name], 10, seed=1).state_dict()
    other = models.build(name, SHAPES[name], 10, seed=2).state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
    weights = [k for k in first if k.endswith("weight") and first[k].ndim >= 2]
    assert all(not torch.equal(first[k], other[k]) for k in weights)


def test_global_rng_state_untouched():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    models.build("resnet20", (3, 32, 32), 10, seed=5)
    assert torch.equal(torch.get_rng_state(), state)


def test_resnet20_weights_are_he_normal():
    model = models.build("resnet20", (3, 32, 32), 10, seed=0)
    weight = model.stage3[1].conv1.weight  # fan_in = 64 * 9
    assert weight.std().item() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.02)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("vgg", (1, 40), 10), {"seed": 0}, "unknown model 'vgg'; expected one of mlp, cnn1d"),
        (("mlp", (1, 40), 10), {"seed": 0, "activation": "elu"}, "unknown activation 'elu'"),
        (("cnn1d", (3, 32, 32), 10), {"seed": 0}, r"cnn1d expects input_shape \(C, L\)"),
        (("resnet20", (1, 40), 10), {"seed": 0}, r"resnet20 expects input_shape \(C, H, W\)"),
        (("cnn1d", (1, 2), 10), {"seed": 0}, "cnn1d input length 2 is too short"),
        (("mlp", (1, 0), 10), {"seed": 0}, "bad input_shape"),
        (("mlp", (1, 40), 0), {"seed": 0}, "bad num_classes 0"),
        (("mlp", (1, 40), 10), {"seed": 1.5}, "bad seed 1.5"),
    ],
)
def test_bad_arguments_are_refused(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.build(*args, **kwargs)
