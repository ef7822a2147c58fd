"""``--estimate``: the expected cost of a sweep, from a short timed slice on the current device.

Costs do not depend on the data's values, so the slice runs on random inputs of the dataset's
shape and split sizes (no data folder needed). Each phase is timed on a slice and extrapolated
linearly: training steps × steps per run; one clean forward pass over the test split × noise
draws; the run's curvature measurements on a slice of ``CURVATURE_SLICE`` samples × the samples
the run uses (adaptive estimators may stop at other budgets on the full split: a rough figure).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import torch

from empirical.experiment import data, evaluate, models, noise, run
from empirical.sweep.config import SweepConfig
from empirical.timing import timed

# (input shape, train size, test size); MNIST-1D sizes follow the config's dataset options.
_SHAPES = {"mnist1d": (1, 40), "cifar10": (3, 32, 32), "mnist": (1, 28, 28)}
_SIZES = {"cifar10": (50000, 10000), "mnist": (60000, 10000)}
CURVATURE_SLICE = 64  # samples of the timed curvature slice
MIN_MATVECS = 10  # the trace estimators' minimum number of products


@dataclass(frozen=True)
class Estimate:
    """Seconds per run by phase, for one run on this device."""

    train: float
    curvature: float  # at the smallest trace budget
    curvature_max: float  # at the config's full trace budget
    noise: float

    @property
    def per_run(self) -> float:
        return self.train + self.curvature + self.noise

    @property
    def per_run_max(self) -> float:
        return self.train + self.curvature_max + self.noise


def split_sizes(config: SweepConfig) -> tuple[int, int]:
    """(train, test) sample counts of the config's dataset."""
    if config.dataset == "mnist1d":
        options = {**data.MNIST1D_DEFAULTS, **config.dataset_options}
        train = int(options["num_samples"] * options["train_split"])
        sizes = (train, options["num_samples"] - train)
    else:
        sizes = _SIZES[config.dataset]
    limit = config.dataset_options.get("limit")
    return sizes if limit is None else (min(sizes[0], limit), min(sizes[1], limit))


def measure(config: SweepConfig, device: str, steps: int = 10) -> Estimate:
    """Time a slice of each phase of one run on ``device`` and extrapolate to the whole run.

    Runs with the run's ``cpu_threads`` torch threads, as :func:`empirical.experiment.run.execute` does.
    """
    with run.torch_threads(config.cpu_threads):
        return _measure(config, device, steps)


def _measure(config: SweepConfig, device: str, steps: int) -> Estimate:
    generator = torch.Generator().manual_seed(0)
    shape = _SHAPES[config.dataset]
    n_train, n_test = split_sizes(config)
    model = models.build(config.model, shape, data.NUM_CLASSES[config.dataset], activation=config.activation, seed=0)
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=config.momentum)
    batch = torch.randn(config.batch_size, *shape, generator=generator).to(device)
    labels = torch.randint(0, 10, (config.batch_size,), generator=generator).to(device)

    def step() -> None:
        xb = data.augment(batch, generator) if config.augment else batch
        loss = torch.nn.functional.cross_entropy(model(xb), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    step()  # warm-up
    per_step = timed(step, device, steps)
    train = per_step * math.ceil(n_train / config.batch_size) * config.epochs
    model.eval()

    n_eval = min(config.eval_batch_size, n_test)
    x_eval = torch.randn(n_eval, *shape, generator=generator).to(device)
    y_eval = torch.randint(0, 10, (n_eval,), generator=generator).to(device)
    forward = timed(lambda: evaluate.loss_and_accuracy(model, x_eval, y_eval, n_eval), device, 3) * n_test / n_eval
    noise_cost = forward * len(config.noise_levels) * config.samples

    # Curvature as the run measures it (traces, λ_max, theory terms) on a small split at the
    # smallest trace budget, scaled linearly to the split sizes the run uses; the traces' adaptive
    # stopping decides where between that and the full budget a real run lands.
    k = min(CURVATURE_SLICE, n_eval)
    scales = noise.scale(model, config.noise_model, noise.targets(model, config.noise_scope))
    sliced = dataclasses.replace(config, curvature_samples=k, trace_max_matvecs=MIN_MATVECS)
    start = time.perf_counter()
    run.measure_curvature(model, sliced, scales, x_eval[:k].cpu(), y_eval[:k].cpu(), x_eval[:k], y_eval[:k], device)
    used = min(config.curvature_samples or n_train, n_train) + min(config.curvature_samples or n_test, n_test)
    low = (time.perf_counter() - start) * used / (2 * k)
    return Estimate(train, low, low * max(1.0, config.trace_max_matvecs / MIN_MATVECS), noise_cost)


def report(config: SweepConfig, device: str, estimate: Estimate, runs: int, jobs: int) -> str:
    """The lines ``--estimate`` prints."""
    total, total_max = estimate.per_run * runs, estimate.per_run_max * runs
    return "\n".join(
        [
            f"Estimated cost on {device} (preset {config.preset}: {config.model} on {config.dataset}, "
            f"{config.epochs} epochs, {len(config.noise_levels)} noise levels × {config.samples} draws):",
            f"  per run: {_hms(estimate.per_run)} to {_hms(estimate.per_run_max)} = training {_hms(estimate.train)}"
            f" + curvature {_hms(estimate.curvature)} to {_hms(estimate.curvature_max)} (trace budget "
            f"{MIN_MATVECS} to {config.trace_max_matvecs} products) + noise evaluation {_hms(estimate.noise)}",
            f"  {runs} runs: {_hms(total)} to {_hms(total_max)} serial; {_hms(total / jobs)} to "
            f"{_hms(total_max / jobs)} with {jobs} parallel jobs of this kind",
        ]
    )


def _hms(seconds: float) -> str:
    h, rest = divmod(int(round(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"
