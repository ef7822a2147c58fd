"""Networks for the sweeps: an MLP, the MNIST-1D 1-D CNN and the CIFAR ResNet-20.

`build` returns a freshly initialised model whose parameters depend only on its arguments. Every
convolution and linear weight is named ``...weight`` and has ndim >= 2 (the noise targets);
biases and batch-norm parameters are 1-D. Models output logits, shape (N, num_classes).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

MODELS = ("mlp", "cnn1d", "resnet20")
_ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
}
ACTIVATIONS = tuple(_ACTIVATIONS)

MLP_WIDTH = 100
CNN1D_CHANNELS = 32
RESNET20_WIDTHS = (16, 32, 64)
RESNET20_BLOCKS_PER_STAGE = 3


def build(
    name: str,
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    activation: str = "relu",
    seed: int,
) -> nn.Module:
    """A freshly initialised model, seeded, without touching the caller's random state.

    Args:
        name: one of `MODELS`.
        input_shape: shape of one sample, without the batch dim: any for ``mlp``, (C, L) for
            ``cnn1d``, (C, H, W) for ``resnet20``.
        num_classes: number of output logits.
        activation: one of `ACTIVATIONS`.
        seed: seeds the parameter initialisation (on a forked CPU generator).

    Returns:
        The model in train mode on the CPU, mapping (N, *input_shape) to logits (N, num_classes).

    Raises:
        ValueError: unknown name or activation, bad input shape, class count or seed.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODELS)}")
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}"
        )
    shape = tuple(input_shape)
    if not shape or not all(_is_positive_int(d) for d in shape):
        raise ValueError(f"bad input_shape {input_shape!r}; expected a tuple of positive ints")
    if not _is_positive_int(num_classes):
        raise ValueError(f"bad num_classes {num_classes!r}; expected a positive int")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"bad seed {seed!r}; expected an int")
    builder = {"mlp": _mlp, "cnn1d": _cnn1d, "resnet20": _resnet20}[name]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return builder(shape, num_classes, _ACTIVATIONS[activation])


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _mlp(shape: tuple[int, ...], num_classes: int, act: type[nn.Module]) -> nn.Module:
    """Flatten, two hidden layers of width 100, linear head; PyTorch's default init."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(math.prod(shape), MLP_WIDTH),
        act(),
        nn.Linear(MLP_WIDTH, MLP_WIDTH),
        act(),
        nn.Linear(MLP_WIDTH, num_classes),
    )


def _cnn1d(shape: tuple[int, ...], num_classes: int, act: type[nn.Module]) -> nn.Module:
    """The MNIST-1D CNN (Greydanus 2020): three strided Conv1d of 32 channels, linear head.

    Input (N, C, L); 8,010 parameters for (1, 40) and 10 classes. PyTorch's default init.
    """
    if len(shape) != 2:
        raise ValueError(f"cnn1d expects input_shape (C, L). Got {shape}.")
    channels, length = shape
    layers = []
    for in_channels, kernel in ((channels, 5), (CNN1D_CHANNELS, 3), (CNN1D_CHANNELS, 3)):
        layers += [nn.Conv1d(in_channels, CNN1D_CHANNELS, kernel, stride=2, padding=1), act()]
        length = (length + 2 - kernel) // 2 + 1
        if length < 1:
            raise ValueError(f"cnn1d input length {shape[1]} is too short; expected >= 3")
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(CNN1D_CHANNELS * length, num_classes))


class _ZeroPadShortcut(nn.Module):
    """Option-A shortcut: subsample by `stride` in space, zero-pad the extra channels.

    (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)); no parameters.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.pad_front = (out_channels - in_channels) // 2
        self.pad_back = out_channels - in_channels - self.pad_front

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, self.pad_front, self.pad_back))


class _BasicBlock(nn.Module):
    """conv3x3-BN-act-conv3x3-BN, plus the shortcut, then act (He et al. 2016)."""

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, act: type[nn.Module]
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.act1 = act()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = act()
        changes_shape = stride != 1 or in_channels != out_channels
        self.shortcut = (
            _ZeroPadShortcut(in_channels, out_channels, stride) if changes_shape else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(out)) + self.shortcut(x))


def _resnet20(shape: tuple[int, ...], num_classes: int, act: type[nn.Module]) -> nn.Module:
    """CIFAR ResNet-20 (He et al. 2016, sec. 4.2): 3 stages of 3 basic blocks, 16/32/64 channels.

    Input (N, C, H, W); 269,722 parameters for 10 classes (the 272,474 sometimes quoted counts
    1x1-projection shortcuts). Parameters are named ``conv``, ``bn``, ``stage{1,2,3}.{0,1,2}.*``
    and ``fc``. Convolution and linear weights He-normal initialised.
    """
    if len(shape) != 3:
        raise ValueError(f"resnet20 expects input_shape (C, H, W). Got {shape}.")
    layers = OrderedDict(
        conv=nn.Conv2d(shape[0], RESNET20_WIDTHS[0], 3, 1, 1, bias=False),
        bn=nn.BatchNorm2d(RESNET20_WIDTHS[0]),
        act=act(),
    )
    in_channels = RESNET20_WIDTHS[0]
    for stage, width in enumerate(RESNET20_WIDTHS):
        blocks = []
        for block in range(RESNET20_BLOCKS_PER_STAGE):
            stride = 2 if stage > 0 and block == 0 else 1
            blocks.append(_BasicBlock(in_channels, width, stride, act))
            in_channels = width
        layers[f"stage{stage + 1}"] = nn.Sequential(*blocks)
    layers.update(
        pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(), fc=nn.Linear(in_channels, num_classes)
    )
    model = nn.Sequential(layers)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight)
    return model
