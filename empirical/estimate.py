"""``--estimate``: the expected cost of a sweep, from a short timed slice on the current device.

Costs do not depend on the data's values, so the slice runs on random inputs of the dataset's
shape and split sizes (no data folder needed). Each phase is timed on a slice and extrapolated
linearly: training steps × steps per run; one clean forward pass over the test split × noise
draws; a few Hessian-vector products × the curvature budget. The curvature part is an upper
bound (adaptive estimators stop early when they reach the target error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from empirical import curvature, data, evaluate, models, noise
from empirical.config import SweepConfig
from empirical.timing import timed

# (input shape, train size, test size); MNIST-1D sizes follow the config's dataset options.
_SHAPES = {"mnist1d": (1, 40), "cifar10": (3, 32, 32), "mnist": (1, 28, 28)}
_SIZES = {"cifar10": (50000, 10000), "mnist": (60000, 10000)}
_TRACES = 3  # tr(H) train, tr(H) test, tr(HΣ₁) test
_LANCZOS_MATVECS = 40  # a generous budget for λ_max


@dataclass(frozen=True)
class Estimate:
    """Seconds per run by phase, for one run on this device."""

    train: float
    curvature: float
    noise: float

    @property
    def per_run(self) -> float:
        return self.train + self.curvature + self.noise


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
    """Time a slice of each phase of one run on ``device`` and extrapolate to the whole run."""
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

    n_curv = min(config.curvature_samples or n_train, n_eval)
    budget = 4
    scales = noise.scale(model, config.noise_model, noise.targets(model, config.noise_scope))
    options = dict(rel_se=1e-9, max_matvecs=budget, batch_size=config.eval_batch_size, scale=scales)
    trace = curvature.hessian_trace(model, x_eval[:n_curv], y_eval[:n_curv], generator=generator, **options)
    per_matvec = trace.seconds / max(trace.matvecs, 1)
    curv_train = min(config.curvature_samples or n_train, n_train)
    curv_test = min(config.curvature_samples or n_test, n_test)
    matvec_samples = (config.trace_max_matvecs * (curv_train + 2 * curv_test) + _LANCZOS_MATVECS * curv_train)
    curvature_cost = per_matvec * matvec_samples / n_curv
    return Estimate(train, curvature_cost, noise_cost)


def report(config: SweepConfig, device: str, estimate: Estimate, runs: int, jobs: int) -> str:
    """The lines ``--estimate`` prints."""
    total = estimate.per_run * runs
    return "\n".join(
        [
            f"Estimated cost on {device} (preset {config.preset}: {config.model} on {config.dataset}, "
            f"{config.epochs} epochs, {len(config.noise_levels)} noise levels × {config.samples} draws):",
            f"  per run: {_hms(estimate.per_run)} = training {_hms(estimate.train)} + curvature ≤ "
            f"{_hms(estimate.curvature)} + noise evaluation {_hms(estimate.noise)}",
            f"  {runs} runs: {_hms(total)} serial; {_hms(total / jobs)} with {jobs} parallel jobs of this kind",
        ]
    )


def _hms(seconds: float) -> str:
    h, rest = divmod(int(round(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"
