"""``python -m empirical.bench.noise``: cost of one Monte Carlo noise sample vs a clean forward pass.

Target: one noise sample (draw z, form w + ηs⊙z, evaluate loss and accuracy over the test split)
costs at most 1.2× a clean evaluation over the same split. Both are timed interleaved, in the
same process, as medians over repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from empirical.sweep import config as cfg
from empirical.experiment import evaluate, models, noise, run
from empirical.timing import timed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m empirical.bench.noise", description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default", help="preset whose data, model and noise model to use")
    p.add_argument("--repeats", type=int, default=50, help="timed repeats of each (default: 50)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    args = p.parse_args(argv)
    if args.repeats < 1:
        print(f"bench_noise: error: --repeats {args.repeats} must be >= 1", file=sys.stderr)
        return 2
    try:
        config = cfg.resolve(args.preset)
    except cfg.ConfigError as e:
        print(f"bench_noise: error: {e}", file=sys.stderr)
        return 2
    x, y = (t.to(args.device) for t in run.load_split(config, "test"))
    model = models.build(config.model, tuple(x.shape[1:]), 10, activation=config.activation, seed=0).to(args.device).eval()
    scales = noise.scale(model, config.noise_model, noise.targets(model, config.noise_scope))
    params = {n: p.detach() for n, p in model.named_parameters()}
    shapes = {n: s.shape for n, s in scales.items()}

    def clean() -> None:
        evaluate.loss_and_accuracy(model, x, y, config.eval_batch_size)

    def noisy(k: int) -> None:
        z = {n: t.to(args.device) for n, t in noise.draw(shapes, config.noise_seed, k).items()}
        evaluate.loss_and_accuracy(model, x, y, config.eval_batch_size, noise.perturbed(params, scales, z, 0.1))

    clean(), noisy(0)  # warm-up
    clean_s, noisy_s = [], []
    for k in range(args.repeats):
        clean_s.append(timed(clean, args.device))
        noisy_s.append(timed(lambda: noisy(k), args.device))
    result = {
        "preset": args.preset,
        "test_samples": len(y),
        "parameters": sum(p.numel() for p in params.values()),
        "clean_forward_seconds": statistics.median(clean_s),
        "noise_sample_seconds": statistics.median(noisy_s),
        "repeats": args.repeats,
        "device": args.device,
    }
    result["ratio"] = result["noise_sample_seconds"] / result["clean_forward_seconds"]
    print(
        f"clean evaluation over {len(y)} test samples: {1000 * result['clean_forward_seconds']:.2f} ms; one noise "
        f"sample: {1000 * result['noise_sample_seconds']:.2f} ms; ratio {result['ratio']:.3f} (target ≤ 1.2; "
        f"medians of {args.repeats})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
