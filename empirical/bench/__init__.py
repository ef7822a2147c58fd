"""Benchmarks people run: ``curvature`` (trace vs PyHessian at 1% error), ``noise`` (cost of a noise sample)."""

from __future__ import annotations

import argparse

import torch


def device(text: str) -> torch.device:
    """``"cuda:0"`` → that device, if torch can allocate on it (an argparse ``type``)."""
    try:
        out = torch.device(text)
        torch.zeros(1, device=out)
    except (RuntimeError, AssertionError) as e:
        raise argparse.ArgumentTypeError(f"{text!r} is unavailable: {str(e).splitlines()[0]}") from None
    return out
