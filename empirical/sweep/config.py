"""Sweep configuration: presets, TOML files and command-line overrides, resolved and checked.

A configuration is plain values with defaults (nanoGPT style). Resolution order, later wins:
preset → ``--config FILE.toml`` → single-value flags. Every check happens here, at the door, and a
bad value raises :class:`ConfigError` with a one-line message naming it.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

GAUSSIAN_NOISE_MODELS = ("layer-relative", "multiplicative", "additive")
NOISE_MODELS = (*GAUSSIAN_NOISE_MODELS, "pcm")  # pcm: phase-change memory, levels are times (s)
#: The inference times (s after programming) of a pcm sweep without its own levels: 1 s, 1 h, 1 day,
#: 30 days, 365 days.
PCM_TIMES = (1.0, 3600.0, 86400.0, 2592000.0, 31536000.0)
NOISE_SCOPES = ("weights", "all")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names it and what is accepted."""


@dataclass(frozen=True)
class SweepConfig:
    """Everything that determines a sweep's results (device and output folder excluded).

    Units: learning rates are SGD step sizes; loss is mean cross-entropy; noise levels are η,
    the noise std relative to the noise model's scale (see ``empirical.experiment.noise``), or for
    ``pcm`` times in seconds after programming (see ``empirical.experiment.pcm``).
    """

    preset: str = "default"
    dataset: str = "mnist1d"
    dataset_options: dict[str, Any] = field(default_factory=dict)
    data_root: str | None = None
    model: str = "cnn1d"
    activation: str = "relu"
    lrs: tuple[float, ...] = (0.01, 0.1)
    seeds: tuple[int, ...] = (0,)
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 100
    epochs: int = 20
    augment: bool = False
    divergence_factor: float = 10.0  # diverged once an epoch's mean loss exceeds this × the first
    noise_model: str = "layer-relative"
    noise_scope: str = "weights"  # "weights": conv/linear weights only; "all": every parameter
    pcm_g_max: float = 25.0  # µS: the largest target conductance of the pcm noise model
    # Other Gaussian noise models measured in the same runs, each with its own levels, e.g.
    # {"additive": (0.002, 0.005)}: their own tr(HΣ₁), kink term (in the run's kink call) and Monte
    # Carlo (extra_noise_samples passes per level, default `samples`; the run's blocks and draws).
    extra_noise_models: dict[str, tuple[float, ...]] = field(default_factory=dict)
    extra_noise_samples: int | None = None
    # Per-layer sensitivity (layers.csv) of the primary noise model at these levels, in the runs of
    # these seeds, with this many noisy passes per level and layer (none when either tuple is empty).
    layer_levels: tuple[float, ...] = ()
    layer_seeds: tuple[int, ...] = ()
    layer_samples: int = 32
    noise_levels: tuple[float, ...] = (0.05, 0.1)
    samples: int = 64  # Monte Carlo noisy passes over the test split per level (even: antithetic pairs ε, −ε)
    # Draws per noisy pass: the test split is dealt into this many blocks, each with its own draw
    # (``empirical.experiment.evaluate``); more precision per second, but no single-device spread.
    noise_blocks: int = 1
    # Top eigenpairs of Σ₁^½HΣ₁^½ behind the Monte Carlo's control variate, which removes the draws'
    # spread along them without moving the mean (``empirical.experiment.control_variate``); 0: plain.
    control_directions: int = 20
    noise_seed: int = 0  # seeds the noise draws, shared by every run (common random numbers)
    curvature_samples: int | None = 2000  # train-split subset for curvature (None: whole split)
    curvature_seed: int = 0
    trace_rel_se: float = 0.01
    trace_max_matvecs: int = 200
    eval_batch_size: int = 2000
    # Torch intra-op threads per run on the CPU. Results depend on it in the last bits (reduction
    # order), so it is fixed per sweep: every executor then gives identical tables.
    cpu_threads: int = 1

    def run_id(self, lr: float, seed: int) -> str:
        """Folder name of one run, e.g. ``lr0.1_seed0``."""
        return f"lr{lr:g}_seed{seed}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists, also inside tables), equal to what ``config.json`` reads back."""
        return {k: _json_ready(v) for k, v in dataclasses.asdict(self).items()}


_SMOKE = dict(
    preset="smoke",
    dataset_options={"num_samples": 1500},
    lrs=(0.01, 0.1),
    seeds=(0,),
    epochs=3,
    noise_levels=(0.05, 0.2),
    samples=8,
    curvature_samples=500,
    trace_rel_se=0.05,
    trace_max_matvecs=40,
)

_DEFAULT = dict(
    preset="default",
    dataset_options={"num_samples": 10000},
    lrs=(0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
    seeds=(0, 1, 2),
    epochs=20,
    noise_levels=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
    # 32 pairs of passes with 4 draws each. Measured on this preset's networks: a pass of 4 draws
    # gives 2.3–3.9× the precision per second of a single-draw pass. With the control variate
    # (control_directions) and 80 passes the ratio's 95% half-width at η ≤ 0.05 was ≤ 0.080 in every
    # run, the package's target (≤ 0.1) met from 52 passes in the worst run and 12 in the median one
    # (empirical.analysis.requirement, summary.json's ci_requirement); 64 keeps a margin.
    samples=64,
    noise_blocks=4,
    # Additive noise (std η on every weight) beside the layer-relative default: its ΔL, ½η²tr(H_w),
    # spans the default's at these levels (tr(H_w) ≈ 40–300 on this preset's networks). Two levels
    # and one per-layer level keep the preset under 5 minutes on 2 cores (measured 294 s with three
    # and two).
    extra_noise_models={"additive": (0.005, 0.02)},
    extra_noise_samples=40,  # the same target was met from about 36 (48 measured)
    layer_levels=(0.05,),
    layer_seeds=(0,),
    curvature_samples=2000,
)

_PAPER = dict(
    preset="paper",
    dataset="cifar10",
    model="resnet20",
    lrs=(0.003, 0.01, 0.03, 0.1, 0.3),
    seeds=(0, 1, 2),
    batch_size=128,
    epochs=100,
    augment=True,
    noise_levels=(0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
    samples=64,
    curvature_samples=5000,
    eval_batch_size=1000,
)

# What a pcm sweep takes instead of its preset's values, unless given itself.
_PCM_DEFAULTS = dict(noise_levels=PCM_TIMES, extra_noise_models={}, layer_levels=())

PRESETS: dict[str, dict[str, Any]] = {"smoke": _SMOKE, "default": _DEFAULT, "paper": _PAPER}

_TYPES = get_type_hints(SweepConfig)  # field name → its type, as checked by :func:`typed`


def resolve(preset: str = "default", file: str | Path | None = None, **overrides: Any) -> SweepConfig:
    """Resolve preset, then TOML file, then overrides (``None`` overrides are ignored); check it."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    values: dict[str, Any] = dict(PRESETS[preset])
    given = dict(read_toml(file)) if file is not None else {}
    given.update({k: v for k, v in overrides.items() if v is not None})
    if given.get("noise_model") == "pcm":  # the preset's η are not times; its other models and layers are Gaussian
        values.update({key: value for key, value in _PCM_DEFAULTS.items() if key not in given})
    elif "noise_model" in given and "extra_noise_models" not in given:  # the primary is no extra model
        values["extra_noise_models"] = {
            name: levels for name, levels in values.get("extra_noise_models", {}).items() if name != given["noise_model"]
        }
    preset_dataset = values.get("dataset", SweepConfig.dataset)
    if given.get("dataset", preset_dataset) != preset_dataset:
        values.pop("dataset_options", None)  # the preset's options belong to the preset's dataset
    values.update(given)
    unknown = sorted(set(values) - set(_TYPES))
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(unknown)}; known keys: {', '.join(_TYPES)}")
    config = SweepConfig(**{k: typed(k, v, _TYPES[k]) for k, v in values.items()})
    config = dataclasses.replace(config, extra_noise_models=_levels_by_model(config.extra_noise_models))
    check(config)
    return config


def typed(key: str, value: Any, annotation: Any) -> Any:
    """``value`` of the dataclass field type ``annotation``, normalised: lists become tuples, integers
    where a number is expected become floats. Raises :class:`ConfigError` naming ``key``, the value
    and the accepted type (a bool is not an integer; a string is not a list).
    """
    if not _fits(value, annotation):
        raise ConfigError(f"{key} = {value!r} has the wrong type; give {_describe(annotation)}")
    if get_origin(annotation) is tuple:
        return tuple(typed(key, v, get_args(annotation)[0]) for v in value)
    return float(value) if annotation is float else value


_NAMES = {bool: ("true or false", "booleans"), int: ("an integer", "integers"), float: ("a number", "numbers"),
          str: ("a string", "strings")}  # fmt: skip


def _fits(value: Any, annotation: Any) -> bool:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin is tuple:
        return isinstance(value, (list, tuple)) and all(_fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if annotation in (int, float):
        return isinstance(value, (int, float) if annotation is float else int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def _describe(annotation: Any, plural: bool = False) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):  # None is a default only: files and flags cannot give it
        return " or ".join(_describe(a, plural) for a in args if a is not type(None))
    if origin is tuple:
        return f"a list of {_describe(args[0], plural=True)}"
    if origin is dict:
        return "a table ({ key = value, ... })"
    return _NAMES[annotation][plural]


def read_toml(path: str | Path, table: str = "sweep") -> dict[str, Any]:
    """One table of a config file: ``[sweep]`` (or the top-level keys) or ``[slurm]`` (executor options)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {e}") from None
    if table == "sweep" and "sweep" not in data:
        return {k: v for k, v in data.items() if k != "slurm"}
    found = data.get(table, {})
    if not isinstance(found, dict):
        raise ConfigError(f"config file {str(path)!r}: {table} = {found!r} has the wrong type; give a table [{table}]")
    return found


def check(c: SweepConfig) -> None:
    """Raise :class:`ConfigError` naming the first value of the wrong type or out of range."""
    from empirical.experiment.data import DATASETS
    from empirical.experiment.models import ACTIVATIONS, MODELS

    for name, annotation in _TYPES.items():
        typed(name, getattr(c, name), annotation)
    _one_of("dataset", c.dataset, DATASETS)
    _one_of("model", c.model, MODELS)
    _one_of("activation", c.activation, ACTIVATIONS)
    _one_of("optimizer", c.optimizer, ("sgd",))
    _one_of("noise_model", c.noise_model, NOISE_MODELS)
    _one_of("noise_scope", c.noise_scope, NOISE_SCOPES)
    if not c.lrs:
        raise ConfigError("lrs is empty; give at least one learning rate")
    for lr in c.lrs:
        if not math.isfinite(lr) or lr <= 0:
            raise ConfigError(f"learning rate {lr!r} is invalid; learning rates must be finite and > 0")
    if len(set(c.lrs)) != len(c.lrs):
        raise ConfigError(f"lrs {list(c.lrs)} has duplicates")
    if not c.seeds or any(s < 0 for s in c.seeds) or len(set(c.seeds)) != len(c.seeds):
        raise ConfigError(f"seeds {list(c.seeds)} are invalid; give distinct integers >= 0")
    for eta in c.noise_levels:
        if c.noise_model == "pcm" and not (math.isfinite(eta) and eta > 0):
            raise ConfigError(f"inference time {eta!r} s is invalid; pcm noise levels are times after programming, "
                              "finite and > 0 seconds")  # fmt: skip
        if not math.isfinite(eta) or eta <= 0:
            raise ConfigError(
                f"noise level {eta!r} is invalid; noise levels must be finite and > 0 "
                "(η = 0, the clean model, is measured in every run anyway)"
            )
    if not (math.isfinite(c.pcm_g_max) and c.pcm_g_max > 0):
        raise ConfigError(f"pcm_g_max {c.pcm_g_max!r} µS is invalid; need a finite conductance > 0")
    if not c.noise_levels:
        raise ConfigError("noise_levels is empty; give at least one noise level")
    if c.samples < 2 or c.samples % 2:
        raise ConfigError(f"samples {c.samples!r} is invalid; give an even integer >= 2 (antithetic pairs)")
    _positive_int("noise_blocks", c.noise_blocks)
    if isinstance(c.control_directions, bool) or not isinstance(c.control_directions, int) or c.control_directions < 0:
        raise ConfigError(f"control_directions {c.control_directions!r} is invalid; give an integer >= 0 (0: no control)")
    for name, levels in c.extra_noise_models.items():
        _one_of("extra_noise_models key", name, GAUSSIAN_NOISE_MODELS)
        if name == c.noise_model:
            raise ConfigError(f"extra_noise_models key {name!r} is the primary noise_model; name another one")
        _check_levels(f"extra_noise_models.{name}", levels)
    if c.layer_levels:
        _check_levels("layer_levels", c.layer_levels)
    if c.extra_noise_models and c.noise_model == "pcm":
        raise ConfigError("extra_noise_models with noise_model 'pcm' is not supported; run the Gaussian models in "
                          "their own sweep")  # fmt: skip
    if c.layer_levels and c.noise_model == "pcm":
        raise ConfigError("layer_levels with noise_model 'pcm' is not supported; per-layer sensitivity is Gaussian only")
    if c.extra_noise_samples is not None and (c.extra_noise_samples < 2 or c.extra_noise_samples % 2):
        raise ConfigError(f"extra_noise_samples {c.extra_noise_samples!r} is invalid; give an even integer >= 2")
    if c.layer_samples < 2 or c.layer_samples % 2:
        raise ConfigError(f"layer_samples {c.layer_samples!r} is invalid; give an even integer >= 2 (antithetic pairs)")
    _positive_int("epochs", c.epochs)
    _positive_int("batch_size", c.batch_size)
    _positive_int("eval_batch_size", c.eval_batch_size)
    _positive_int("cpu_threads", c.cpu_threads)
    _positive_int("trace_max_matvecs", c.trace_max_matvecs)
    if c.curvature_samples is not None:
        _positive_int("curvature_samples", c.curvature_samples)
    if not (0 <= c.momentum < 1):
        raise ConfigError(f"momentum {c.momentum!r} is invalid; need 0 <= momentum < 1")
    if c.weight_decay < 0:
        raise ConfigError(f"weight_decay {c.weight_decay!r} is invalid; need >= 0")
    if not (c.trace_rel_se > 0):
        raise ConfigError(f"trace_rel_se {c.trace_rel_se!r} is invalid; need > 0")
    if not (c.divergence_factor > 1):
        raise ConfigError(f"divergence_factor {c.divergence_factor!r} is invalid; need > 1")


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return [_json_ready(v) for v in value] if isinstance(value, (tuple, list)) else value


def _levels_by_model(table: dict[str, Any]) -> dict[str, tuple[float, ...]]:
    """``extra_noise_models`` with every list of levels a tuple of floats, checked for type."""
    return {name: typed(f"extra_noise_models.{name}", levels, tuple[float, ...]) for name, levels in table.items()}


def _check_levels(key: str, levels: tuple[float, ...]) -> None:
    if not levels:
        raise ConfigError(f"{key} is empty; give at least one noise level")
    for eta in levels:
        if not math.isfinite(eta) or eta <= 0:
            raise ConfigError(f"{key}: noise level {eta!r} is invalid; noise levels must be finite and > 0")


def _one_of(key: str, value: Any, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise ConfigError(f"unknown {key} {value!r}; choose one of {', '.join(accepted)}")


def _positive_int(key: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{key} {value!r} is invalid; give an integer >= 1")
