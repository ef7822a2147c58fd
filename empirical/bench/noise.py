"""``python -m empirical.bench.noise``: cost of one Monte Carlo noise sample vs a clean forward pass.

Target: one noise sample costs at most 1.2× a clean evaluation over the same split. A noise sample
is one noisy pass of the sweep's Monte Carlo (``empirical.experiment.evaluate``), with the preset's
blocks and control variate: draw z for each of the ``noise_blocks`` blocks, the control's c(z), form
w + ηs⊙z and evaluate each block's loss and accuracy. The sweep shares a pair's draws and c over
its two signs and every level; here each sample pays for them (an upper bound). Both are timed
interleaved (the order alternating), in the same process; the ratio is the geometric mean of the
paired ratios over the repeats with its 95% log-scale t-interval
(``empirical.bench.intervals.ratio_interval``), next to the medians of each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

from empirical import bench, cli
from empirical.bench.intervals import ratio_interval
from empirical.experiment import data, evaluate, models, noise, run
from empirical.sweep import config as cfg
from empirical.timing import timed


def parser() -> argparse.ArgumentParser:
    """The command line: [--preset NAME] [--repeats N] [--device D] [--json PATH]."""
    p = cli.parser("python -m empirical.bench.noise", __doc__.splitlines()[0].split(": ", 1)[1])
    p.add_argument("--preset", default="default", help="preset whose data, model and noise model to use")
    p.add_argument("--repeats", type=int, default=50, help="timed repeats of each, >= 2 (default: 50)")
    p.add_argument("--device", type=bench.device, default="cpu", help="torch device (default: cpu)")
    p.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    return p


def _bench(args: argparse.Namespace) -> int:
    if args.repeats < 2:
        raise cli.UsageError(f"--repeats {args.repeats} must be >= 2 (an interval needs two)")
    config = cfg.resolve(args.preset)
    x, y = (t.to(args.device) for t in run.load_split(config, "test"))
    num_classes = data.NUM_CLASSES[config.dataset]
    model = models.build(config.model, tuple(x.shape[1:]), num_classes, activation=config.activation, seed=0)
    model = model.to(args.device).eval()
    scales = noise.scale(model, config.noise_model, noise.targets(model, config.noise_scope))
    params = {n: p.detach() for n, p in model.named_parameters()}
    source = noise.Gaussian(scales)
    shards = evaluate.deal(x, y, config.noise_blocks)
    control = run.noise_control(model, config, scales, x, y, config.samples)

    def clean() -> None:
        evaluate.loss_and_accuracy(model, x, y, config.eval_batch_size)

    def noisy(k: int) -> None:
        draws = evaluate.pair_draws(source, config.noise_seed, k, config.noise_blocks)
        for z in draws if control is not None else ():
            control.of(z)
        zs = [{n: t.to(args.device) for n, t in z.items()} for z in draws]
        evaluate.noisy_pass(model, shards, source, params, zs, 0.1, 1.0, config.eval_batch_size)

    clean(), noisy(0)  # warm-up
    clean_s, noisy_s = [], []
    for k in range(args.repeats):
        if k % 2:
            noisy_s.append(timed(lambda: noisy(k), args.device))
        clean_s.append(timed(clean, args.device))
        if not k % 2:
            noisy_s.append(timed(lambda: noisy(k), args.device))
    ratio = ratio_interval(noisy_s, clean_s)
    result = {
        "preset": args.preset,
        "test_samples": len(y),
        "parameters": sum(p.numel() for p in params.values()),
        "blocks": config.noise_blocks,
        "control_directions": 0 if control is None else len(control.values),
        "clean_forward_seconds": statistics.median(clean_s),
        "noise_sample_seconds": statistics.median(noisy_s),
        "ratio": ratio.value,
        "ratio_ci": [ratio.low, ratio.high],
        "interval_level": ratio.level,
        "repeats": args.repeats,
        "device": str(args.device),
        "threads": torch.get_num_threads(),
    }
    print(
        f"clean evaluation over {len(y)} test samples: {1000 * result['clean_forward_seconds']:.2f} ms; one noise "
        f"sample ({result['blocks']} blocks, control of {result['control_directions']} directions): "
        f"{1000 * result['noise_sample_seconds']:.2f} ms (medians of {args.repeats}); cost of a noise sample "
        f"against a clean pass {ratio.value:.3f}x [{ratio.low:.3f}, {ratio.high:.3f}] at {ratio.level:.0%} "
        f"(target ≤ 1.2)"
    )
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 on success, 2 with one line on stderr for a bad argument or preset."""
    return cli.run(parser(), _bench, argv, errors=(cfg.ConfigError, data.DataError))


if __name__ == "__main__":
    sys.exit(main())
