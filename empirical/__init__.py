"""Measurements: training across learning rates, curvature, and noisy evaluation (torch)."""

from empirical.sweep.store import load_run

__all__ = ["load_run"]
