"""Activation sites of a network, and one batch's clean pass through them.

A *site* is one call, in the forward pass, of an activation module the caller selects; its units
are the entries of the module's input a (the pre-activations), its outputs h = act(a). The kink term
selects the kinked modules (``kinked_modules``), with their kinks (c_j, Δ_j) from
``theory.predict.activation_kinks``: ``nn.ReLU``, ``nn.LeakyReLU`` and ``nn.Hardtanh`` on [−1, 1].
The other piecewise-linear modules (max-pooling, PReLU, RReLU, ReLU6 and other hardtanh ranges,
hardsigmoid, hardswish, threshold, shrinkage) raise ``ValueError``; every other module counts as
smooth. ``smooth_residual`` selects the smooth activation modules, with no kinks. Activations called
as functions inside a ``forward`` (``torch.relu(x)``) are invisible to module hooks and are not counted.

Own layer: when a site's input is the output of a ``Linear``/``ConvNd`` module called once per
forward pass, whose parameters no other module shares, that module's noise reaches a through its
clean input x alone, independent of the noise upstream: Var = Σ_j σ_kj² x_j² + σ_b,k², which is
the module applied to x² with parameters σ² (``OwnLayer.variance``, exact).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call

from theory import predict

Kinks = tuple[tuple[float, float], ...]
LINEAR_IN_PARAMETERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
UNSUPPORTED = (
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d, nn.FractionalMaxPool2d, nn.FractionalMaxPool3d, nn.PReLU, nn.RReLU,
    nn.Hardsigmoid, nn.Hardswish, nn.Threshold, nn.Hardshrink, nn.Softshrink,
)  # fmt: skip


def kinked_modules(model: nn.Module) -> dict[nn.Module, Kinks]:
    """The model's kinked activation modules and their (c_j, Δ_j); ValueError names an unsupported one."""
    out = {}
    for name, module in model.named_modules():
        bad_hardtanh = isinstance(module, nn.Hardtanh) and (module.min_val, module.max_val) != (-1.0, 1.0)
        if isinstance(module, UNSUPPORTED) or bad_hardtanh:
            raise ValueError(
                f"module {name!r} ({module}) is piecewise linear but its kinks are not supported; "
                "supported: ReLU, LeakyReLU, Hardtanh(-1, 1)."
            )
        if isinstance(module, nn.ReLU):
            out[module] = predict.activation_kinks("relu")
        elif isinstance(module, nn.LeakyReLU):
            out[module] = predict.activation_kinks("leaky_relu", module.negative_slope)
        elif isinstance(module, nn.Hardtanh):
            out[module] = predict.activation_kinks("hardtanh")
    return out


def pre_activation(module: nn.Module, inputs: tuple[Tensor, ...]) -> Tensor:
    """The input a of an activation module call (a copy when the module overwrites it in place)."""
    return inputs[0].clone() if getattr(module, "inplace", False) else inputs[0]


@dataclass(frozen=True)
class OwnLayer:
    """A Linear/ConvNd module feeding a site directly, with its clean input x (B, ...)."""

    module: nn.Module
    names: dict[str, str]  # the module's parameter name -> the model's
    inputs: Tensor
    fixed: bool = False  # its input depends on no parameter (e.g. the model's input): no noise upstream

    def variance(self, scale: dict[str, Tensor]) -> Tensor:
        """Var of its noise's part of a at η = 1 (scale = Σ₁^½): the module on x² with parameters σ²."""
        return self._apply({n: s.square() for n, s in scale.items()}, self.inputs.square())

    def perturbation(self, direction: dict[str, Tensor]) -> Tensor:
        """Its part of a's first-order change along ``direction`` (a parameter dict): the module on x
        with parameters ``direction`` (zero where absent)."""
        return self._apply(direction, self.inputs)

    def _apply(self, values: dict[str, Tensor], x: Tensor) -> Tensor:
        own = dict(self.module.named_parameters(recurse=False))
        params = {n: values[full] if full in values else torch.zeros_like(own[n]) for n, full in self.names.items()}
        return functional_call(self.module, params, (x,))


@dataclass(frozen=True)
class Site:
    """One call of an activation ``module``: pre-activations a, gradients g = ∂L/∂h (both (B, ...)),
    its kinks (empty for a smooth activation), and its own layer where that part of the noise is exact.

    ``parent``: the index (in ``clean_pass``'s list) of the site whose activation output is the own
    layer's input itself, if any: then a = own(act_parent(a_parent)) exactly (``kinks_chain``).
    """

    module: nn.Module
    pre: Tensor
    grad: Tensor
    kinks: Kinks
    own: OwnLayer | None
    parent: int | None = None


def clean_pass(model: nn.Module, x: Tensor, y: Tensor, total: int, modules: Mapping[nn.Module, Kinks]) -> list[Site]:
    """The sites of the batch (x, y), in call order: every call of a key of ``modules`` (activation
    module -> its kinks, () for a smooth one). g is of Σ_batch CE / ``total`` (the split's mean loss
    when ``total`` is the split's size). The model must be in eval mode with grad enabled."""
    produced: dict[int, tuple[nn.Module, Tensor, Tensor]] = {}  # id(output) -> (module, input, output)
    calls: Counter[nn.Module] = Counter()
    found: list[tuple[nn.Module, Tensor, tuple[nn.Module, Tensor, Tensor] | None]] = []
    outputs: list[Tensor] = []

    def record_linear(module, inputs, output):
        produced[id(output)] = (module, inputs[0], output)
        calls[module] += 1

    def record_pre(module, inputs):
        entry = produced.get(id(inputs[0]))
        own = entry if entry is not None and entry[2] is inputs[0] else None
        found.append((module, pre_activation(module, inputs).detach(), own))

    hooks = [m.register_forward_hook(record_linear) for m in model.modules() if isinstance(m, LINEAR_IN_PARAMETERS)]
    hooks += [m.register_forward_pre_hook(record_pre) for m in modules]
    hooks += [m.register_forward_hook(lambda m, i, o: outputs.append(o)) for m in modules]
    try:
        loss = nn.functional.cross_entropy(model(x), y, reduction="sum") / total
    finally:
        for h in hooks:
            h.remove()
    grads = torch.autograd.grad(loss, outputs, allow_unused=True)
    owners = _unshared_owners(model)
    sites = []
    for (module, a, own), h, g in zip(found, outputs, grads):
        layer, parent = None, None
        if own is not None and calls[own[0]] == 1 and own[0] in owners:
            layer = OwnLayer(own[0], owners[own[0]], own[1].detach(), fixed=not own[1].requires_grad)
            parent = next((i for i, out in enumerate(outputs) if out is own[1]), None)
        grad = torch.zeros_like(h) if g is None else g.detach()
        sites.append(Site(module, a, grad, modules[module], layer, parent))
    return sites


def _unshared_owners(model: nn.Module) -> dict[nn.Module, dict[str, str]]:
    """Linear/ConvNd modules none of whose parameters another module shares -> {own name: model name}."""
    uses = Counter(id(p) for _, p in model.named_parameters(remove_duplicate=False))
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for module in model.modules():
        own = dict(module.named_parameters(recurse=False))
        if isinstance(module, LINEAR_IN_PARAMETERS) and all(uses[id(p)] == 1 for p in own.values()):
            out[module] = {n: names[id(p)] for n, p in own.items()}
    return out
