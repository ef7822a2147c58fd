"""Clean and noisy evaluation: mean cross-entropy and accuracy over a split, Monte Carlo over noise.

The Monte Carlo uses antithetic pairs: draw k gives z_k, evaluated at ``w + η s⊙z_k`` and
``w − η s⊙z_k``. The pair mean cancels every odd-order term of the Taylor expansion, so
d_k = (L(w+ε_k) + L(w−ε_k))/2 − L(w) is an unbiased, lower-variance sample of E[ΔL].

Blocks: with ``blocks = B`` the split is dealt into B interleaved blocks (sample i in block i mod B)
and pair k evaluates block b under its own draw z_{k,b}; L(w±ε_k) is the split's mean loss over
the blocks, so one pair costs two passes over the split whatever B is. Each sample still sees
Gaussian noise of covariance η²Σ₁, so E[d_k] = E[ΔL] is unchanged; the pair's variance falls
by up to B× because B independent draws average inside it (measured on the default CNN: 2.3–3.9×
more precision per second at B = 4). ``blocks = 1`` is one draw per pair over the whole split.

Control: with a ``control_variate.QuadraticControl``, pair k also records c_k, the mean of c(z_{k,b})
over its blocks, and the estimate regresses d_k on c_k (``control_variate.adjust``): E[c] = 0, so the
mean is unchanged and the spread along the top curvature directions is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from empirical.experiment import control_variate, noise


def loss_and_accuracy(
    model: nn.Module, x: Tensor, y: Tensor, batch_size: int, params: dict[str, Tensor] | None = None
) -> tuple[float, float]:
    """Mean cross-entropy (nats) and accuracy (fraction) of ``model`` (with ``params`` swapped in)."""
    total_loss, correct = _sums(model, x, y, batch_size, params)
    return total_loss / len(y), correct / len(y)


@torch.no_grad()
def _sums(
    model: nn.Module, x: Tensor, y: Tensor, batch_size: int, params: dict[str, Tensor] | None = None
) -> tuple[float, int]:
    """Summed cross-entropy (nats) and number of correct predictions over (x, y)."""
    total_loss, correct = 0.0, 0
    for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
        logits = model(xb) if params is None else functional_call(model, params, (xb,))
        total_loss += torch.nn.functional.cross_entropy(logits, yb, reduction="sum").item()
        correct += int((logits.argmax(1) == yb).sum().item())
    return total_loss, correct


@dataclass(frozen=True)
class NoisyEvaluation:
    """Per-pair results at one noise level; arrays have shape (pairs, 2): [:, 0] at +ε, [:, 1] at −ε.

    ``blocks``: draws per noisy pass (see the module docstring). With more than one, a pass is not one
    device's noise, so the spread over passes (``delta_loss_std``, ``noisy_acc_std``) is left empty.
    ``controls``: c_k per pair (pairs,) at unit η², or None for the plain Monte Carlo.
    """

    noise_level: float
    clean_loss: float
    clean_acc: float
    losses: np.ndarray
    accs: np.ndarray
    blocks: int = 1
    controls: np.ndarray | None = None

    @property
    def plain_increase(self) -> np.ndarray:
        """d_k = mean of the pair's losses − clean loss; shape (pairs,)."""
        return self.losses.mean(axis=1) - self.clean_loss

    def _adjusted(self) -> control_variate.Adjusted | None:
        return None if self.controls is None else control_variate.adjust(self.plain_increase, self.controls)

    @property
    def pair_increase(self) -> np.ndarray:
        """The per-pair increases the estimate averages: d_k, or d_k − β̂ c_k with a control; (pairs,)."""
        adjusted = self._adjusted()
        return self.plain_increase if adjusted is None else adjusted.increases

    def row(self) -> dict[str, float | int]:
        """The measured columns of ``noise.csv`` (standard errors over antithetic pairs)."""
        d = self.plain_increase
        pairs = len(d)
        plain_se = float(d.std(ddof=1) / np.sqrt(pairs)) if pairs > 1 else float("nan")
        adjusted = self._adjusted()
        eta2 = self.noise_level**2
        accs = self.accs.ravel()
        noisy_acc_mean = float(accs.mean())
        return {
            "noise_level": self.noise_level,
            "samples": 2 * pairs,
            "blocks": self.blocks,
            "clean_loss": self.clean_loss,
            "noisy_loss_mean": float(self.losses.mean()),
            "delta_loss": float(d.mean()) if adjusted is None else float(adjusted.increases.mean()),
            "delta_loss_se": plain_se if adjusted is None else adjusted.se,
            "delta_loss_plain": float(d.mean()),
            "delta_loss_plain_se": plain_se,
            "control_slope": adjusted.slope / eta2 if adjusted is not None and eta2 > 0 else float("nan"),
            "delta_loss_std": float(self.losses.ravel().std(ddof=1)) if self.blocks == 1 else float("nan"),
            "clean_acc": self.clean_acc,
            "noisy_acc_mean": noisy_acc_mean,
            "noisy_acc_std": float(accs.std(ddof=1)) if self.blocks == 1 else float("nan"),
            "noisy_acc_se": float(self.accs.mean(axis=1).std(ddof=1) / np.sqrt(pairs)) if pairs > 1 else float("nan"),
            "normalized_acc": noisy_acc_mean / self.clean_acc if self.clean_acc > 0 else float("nan"),
        }


def monte_carlo(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    scales: dict[str, Tensor] | noise.Source,
    levels: tuple[float, ...],
    samples: int,
    noise_seed: int,
    batch_size: int,
    *,
    blocks: int = 1,
    control: control_variate.QuadraticControl | None = None,
) -> list[NoisyEvaluation]:
    """Evaluate ``model`` under ``samples`` noisy passes over (x, y) (``samples/2`` antithetic pairs) per level.

    ``scales``: Σ₁^½ from :func:`empirical.experiment.noise.scale` (Gaussian noise), or any
    :class:`empirical.experiment.noise.Source` (e.g. ``empirical.experiment.pcm.Tiles``). Block b of
    pair k takes draw ``k·blocks + b`` (see the module docstring): the same for every level and for
    every model with the same parameter shapes. ``control``: record c_k per pair for a Gaussian source
    (see the module docstring).
    """
    if samples < 2 or samples % 2:
        raise ValueError(f"samples {samples!r} must be an even integer >= 2")
    if not 1 <= blocks <= len(y):
        raise ValueError(f"blocks {blocks!r} must be between 1 and the {len(y)} samples of the split")
    device = next(model.parameters()).device
    params = {name: p.detach() for name, p in model.named_parameters()}
    clean_loss, clean_acc = loss_and_accuracy(model, x, y, batch_size)
    shards = deal(x, y, blocks)
    pairs = samples // 2
    losses = np.empty((len(levels), pairs, 2))
    accs = np.empty((len(levels), pairs, 2))
    source = noise.Gaussian(scales) if isinstance(scales, dict) else scales
    controls = None if control is None else np.empty(pairs)
    for k in range(pairs):
        draws = pair_draws(source, noise_seed, k, blocks)
        if controls is not None:
            controls[k] = np.mean([control.of(z) for z in draws])
        zs = [{name: t.to(device) for name, t in z.items()} for z in draws]
        for i, level in enumerate(levels):
            for j, sign in enumerate((1.0, -1.0)):
                losses[i, k, j], accs[i, k, j] = noisy_pass(model, shards, source, params, zs, level, sign, batch_size)
    return [NoisyEvaluation(level, clean_loss, clean_acc, losses[i], accs[i], blocks, controls)
            for i, level in enumerate(levels)]  # fmt: skip


def deal(x: Tensor, y: Tensor, blocks: int) -> list[tuple[Tensor, Tensor]]:
    """The split dealt into ``blocks`` interleaved blocks: sample i in block i mod ``blocks``; each block
    is copied contiguous once, so the many noisy passes over it do not each gather its strided rows."""
    return [(x[b::blocks].contiguous(), y[b::blocks].contiguous()) for b in range(blocks)]


def pair_draws(source: noise.Source, noise_seed: int, k: int, blocks: int) -> list[dict[str, Tensor]]:
    """The standard normals of pair k, one draw per block: draws ``k·blocks + b`` (CPU tensors)."""
    return [source.normals(noise_seed, k * blocks + b) for b in range(blocks)]


def noisy_pass(
    model: nn.Module, shards: list[tuple[Tensor, Tensor]], source: noise.Source, params: dict[str, Tensor],
    zs: list[dict[str, Tensor]], level: float, sign: float, batch_size: int,
) -> tuple[float, float]:  # fmt: skip
    """One noisy pass over the split (``deal``'s shards): mean cross-entropy (nats) and accuracy with shard b
    under the weights of draw ``zs[b]`` (on the model's device) at ``level`` and ``sign``."""
    sums = [_sums(model, xb, yb, batch_size, source.weights(params, z, level, sign)) for (xb, yb), z in zip(shards, zs)]
    total = sum(len(yb) for _, yb in shards)
    return sum(loss for loss, _ in sums) / total, sum(correct for _, correct in sums) / total
