"""``measure``: predicted and measured loss increase under weight noise, overall and per layer, for any classifier."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from empirical import curvature
from empirical.experiment import evaluate, noise
from empirical.sensitivity import agreement, checks
from empirical.sensitivity.layers import layer_monte_carlo
from empirical.sensitivity.result import Component, Sensitivity

TRACE_STREAM, KINK_STREAM = 0, 1  # curvature_seed streams of the traces and of the kink terms (one call)


@contextlib.contextmanager
def evaluation(model: nn.Module) -> Iterator[None]:
    """Run the block with the model in eval mode; restore its mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def generator(curvature_seed: int, stream: int) -> torch.Generator:
    """The CPU generator of one curvature estimate: its own stream of ``curvature_seed``."""
    state = np.random.SeedSequence([curvature_seed, stream]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state >> 1))


def measure(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    noise_model: str = "layer-relative",
    levels: Sequence[float] = (0.01, 0.02, 0.05),
    samples: int = 64,
    layer_samples: int | None = None,
    noise_seed: int = 0,
    curvature_seed: int = 0,
    scope: str = "weights",
    layers: Sequence[str] | None = None,
    kinks: bool = True,
    rel_se: float = 0.01,
    batch_size: int = 2000,
    blocks: int = 1,
) -> Sensitivity:
    """Sensitivity of a classifier's mean cross-entropy on (x, y) to weight noise, overall and per layer.

    Args:
        model: any ``nn.Module`` mapping x (N, ...) to logits (N, C); evaluated in eval mode (its
            mode is restored), on its own device.
        x, y: the split: inputs (N, ...) and integer class indices (N,).
        noise_model: ``"layer-relative"``, ``"multiplicative"`` or ``"additive"``
            (``empirical.experiment.noise``); ``levels``: the noise levels η > 0.
        samples: overall Monte Carlo draws per level (even: antithetic pairs); ``layer_samples``:
            draws per layer and level (default ``samples``), the first ``layer_samples/2`` of the
            overall pairs, so the additivity check pairs them draw by draw.
        noise_seed: seeds the noise draws and the rank bootstrap; ``curvature_seed``: the trace
            and kink-term probes.
        scope: ``"weights"`` (conv/linear weights) or ``"all"`` parameters get noise;
            ``layers``: the noise targets to measure one by one (default all of them).
        kinks: add the kink term of ReLU/LeakyReLU/Hardtanh(−1, 1) units to the predictions; other
            piecewise-linear modules (max-pooling, ...) raise, pass False to predict without it.
        rel_se: the traces' target relative SE; ``batch_size``: samples per forward pass;
            ``blocks``: noise draws per pass over the split (``empirical.experiment.evaluate``).

    Raises:
        ValueError: a bad argument, named in one line.
    """
    noise_model = checks.noise_model(noise_model)
    levels = checks.levels(levels)
    samples = checks.samples("samples", samples)
    layer_samples = samples if layer_samples is None else checks.samples("layer_samples", layer_samples)
    x, y = checks.data(x, y)
    with evaluation(checks.logits(model, x, y)):
        names = checks.layers(model, layers, scope)
        device = next(model.parameters()).device
        x, y = x.to(device), y.to(device)
        targets = noise.targets(model, scope)
        scales = noise.scale(model, noise_model, targets)
        start = time.perf_counter()
        whole, parts = _curvature(model, x, y, scales, names, levels, kinks, curvature_seed, rel_se, batch_size)
        seconds = {"curvature": time.perf_counter() - start}
        start = time.perf_counter()
        measured = evaluate.monte_carlo(model, x, y, scales, levels, samples, noise_seed, batch_size, blocks=blocks)
        overall = Component("all", *whole, tuple(measured), time.perf_counter() - start)
        per_layer = {}
        for name in names:
            start = time.perf_counter()
            measured = layer_monte_carlo(
                model, x, y, scales, name, levels, layer_samples, noise_seed, batch_size, blocks=blocks
            )
            per_layer[name] = Component(name, *parts[name], tuple(measured), time.perf_counter() - start)
    seconds.update(monte_carlo=overall.seconds, layer_monte_carlo=sum(c.seconds for c in per_layer.values()))
    complete = names == targets
    additivity = tuple(
        agreement.additivity(overall.measured[i], [c.measured[i] for c in per_layer.values()])
        for i in range(len(levels))
    ) if complete else ()  # fmt: skip
    ranks = tuple(
        agreement.rank_agreement(eta, np.array([c.predicted()[i] for c in per_layer.values()]),
                                 np.stack([c.measured[i].pair_increase for c in per_layer.values()]), noise_seed)
        for i, eta in enumerate(levels)
    )  # fmt: skip
    return Sensitivity(noise_model, levels, samples, layer_samples, overall, per_layer, additivity, ranks, seconds)


Predictors = tuple[curvature.TraceEstimate, curvature.KinkEstimate | None]


def _curvature(model, x, y, scales, names, levels, kinks, curvature_seed, rel_se, batch_size) -> tuple[
    Predictors, dict[str, Predictors]
]:
    """(trace, kink term) of the noise on every target, and per layer of the noise on it alone."""
    trace = curvature.hessian_trace(model, x, y, scale=scales, rel_se=rel_se, batch_size=batch_size,
                                    generator=generator(curvature_seed, TRACE_STREAM))  # fmt: skip
    diagonal = curvature.layer_traces(
        model, x, y, scale={n: scales[n] for n in names}, params=names, rel_se=rel_se, batch_size=batch_size,
        generator=generator(curvature_seed, TRACE_STREAM),
    )  # fmt: skip

    terms: list[curvature.KinkEstimate | None] = [None] * (1 + len(names))
    if kinks:  # every target's and each layer's alone in one call: shared clean passes (and exact τ² parts)
        try:
            terms = list(curvature.kink_terms(model, x, y, [scales, *({n: scales[n]} for n in names)],
                                              [levels] * (1 + len(names)),
                                              generator=generator(curvature_seed, KINK_STREAM)))  # fmt: skip
        except ValueError as e:
            raise ValueError(f"{e} Pass kinks=False to predict without the kink term.") from None
    return (trace, terms[0]), {n: (diagonal[n], term) for n, term in zip(names, terms[1:], strict=True)}
