"""Where runs execute: serially in this process, in parallel local processes, or as Slurm jobs.

The results folder is the only shared state: every run writes its own ``runs/<run_id>/`` (see
``empirical.experiment.run.execute``), so runs may finish in any order, on any node, and a sweep started under
one executor can be resumed under another. Executor options never change results, so they live
outside :class:`~empirical.sweep.config.SweepConfig` (a ``[slurm]`` table of the config file).
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import forkserver, get_context, parent_process
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, Callable, get_type_hints

from empirical.sweep.config import ConfigError, SweepConfig, typed

EXECUTORS = ("serial", "processes", "slurm")
Task = tuple[float, int]  # (lr, seed)


@dataclass(frozen=True)
class SlurmOptions:
    """submitit parameters for ``--executor slurm`` (the ``[slurm]`` table of ``--config``).

    ``cluster``: ``None`` lets submitit detect Slurm; ``"local"`` runs the same jobs as local
    subprocesses (for tests and dry runs of the machinery).
    """

    partition: str | None = None
    time_min: int = 120
    gpus_per_node: int = 0
    cpus_per_task: int = 2
    mem_gb: int | None = None
    array_parallelism: int = 64
    additional: dict[str, Any] = field(default_factory=dict)  # extra sbatch options, e.g. {"qos": "high"}
    cluster: str | None = None

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> "SlurmOptions":
        """The options of a ``[slurm]`` table; :class:`ConfigError` for an unknown key or a value of the wrong type."""
        known = get_type_hints(cls)
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise ConfigError(f"unknown [slurm] key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
        return cls(**{k: typed(f"[slurm] {k}", v, known[k]) for k, v in table.items()})


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check(executor: str, jobs: int, config: SweepConfig) -> None:
    """Raise :class:`ConfigError` for an unknown executor, bad ``jobs``, or oversubscribed cores."""
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r}; choose one of {', '.join(EXECUTORS)}")
    if jobs < 1:
        raise ConfigError(f"--jobs {jobs} is invalid; give an integer >= 1")
    if executor == "processes" and jobs * config.cpu_threads > cpu_count():
        raise ConfigError(
            f"--jobs {jobs} × cpu_threads {config.cpu_threads} oversubscribes the {cpu_count()} cores; "
            f"use --jobs {max(1, cpu_count() // config.cpu_threads)} or fewer"
        )


def _die_with_sweep() -> None:
    """Make this worker exit the moment the sweep process dies, so that a killed sweep leaves no orphan still
    writing into the results folder. The worker's parent may be a forkserver, which outlives the sweep while
    any worker does, so the worker watches the sweep itself: its ``parent_process`` sentinel (the sweep's end
    of a pipe) becomes ready when the sweep exits. A finished sweep has shut its workers down before then."""
    sweep = parent_process()
    if sweep is None:  # pragma: no cover - not started by multiprocessing
        return

    def watch() -> None:
        wait([sweep.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="die-with-sweep", daemon=True).start()


def _context() -> BaseContext:
    """How local workers start: on Linux, forked from a forkserver that has imported ``empirical.sweep.preload``
    (one set of imports for all workers, made while this process does other work); elsewhere spawned (macOS
    libraries are not safe to fork, Windows cannot). Neither shares this process's state (threads, CUDA)."""
    if not sys.platform.startswith("linux"):  # pragma: no cover - not Linux
        return get_context("spawn")
    context = get_context("forkserver")
    context.set_forkserver_preload(["empirical.sweep.preload"])
    return context


def start_early(executor: str) -> None:
    """Start the processes executor's forkserver now, so that its imports overlap whatever this process does
    before the runs (e.g. generating the data); a no-op for the other executors."""
    if executor == "processes" and _context().get_start_method() == "forkserver":
        forkserver.ensure_running()


def _start_worker(generations: dict[Any, Any]) -> None:
    """A worker process's set-up: die with the sweep, and take the data the sweep already generated."""
    from empirical.experiment import data

    _die_with_sweep()
    data.preload(generations)


def _execute(config: SweepConfig, lr: float, seed: int, out: str, device: str) -> dict[str, Any]:
    from empirical.experiment import run

    return run.execute(config, lr, seed, Path(out), device)


def execute_all(
    tasks: list[Task],
    config: SweepConfig,
    out: Path,
    device: str,
    executor: str,
    jobs: int,
    on_done: Callable[[dict[str, Any]], None],
    slurm: SlurmOptions | None = None,
) -> list[str]:
    """Execute every (lr, seed) task; call ``on_done(record)`` as each finishes, in this process.

    Returns one message per task that failed (Slurm jobs only; elsewhere errors propagate).
    """
    check(executor, jobs, config)
    if executor == "serial":
        for lr, seed in tasks:
            on_done(_execute(config, lr, seed, str(out), device))
        return []
    if executor == "processes":
        workers = min(jobs, len(tasks))
        if workers == 0:
            return []
        from empirical.experiment import data  # the parent's data generations, handed to every worker

        with ProcessPoolExecutor(
            workers, mp_context=_context(), initializer=_start_worker, initargs=(data.generated(),)
        ) as pool:
            futures = [pool.submit(_execute, config, lr, seed, str(out), device) for lr, seed in tasks]
            for future in as_completed(futures):
                on_done(future.result())
        return []
    return _slurm(tasks, config, out, device, slurm or SlurmOptions(), on_done)


def slurm_parameters(options: SlurmOptions) -> dict[str, Any]:
    """The submitit ``update_parameters`` arguments for ``options``."""
    params: dict[str, Any] = {
        "timeout_min": options.time_min,
        "gpus_per_node": options.gpus_per_node,
        "cpus_per_task": options.cpus_per_task,
        "slurm_array_parallelism": options.array_parallelism,
        "name": "noisewise",
    }
    if options.partition:
        params["slurm_partition"] = options.partition
    if options.mem_gb:
        params["mem_gb"] = options.mem_gb
    if options.additional:
        params["slurm_additional_parameters"] = dict(options.additional)
    return params


def describe(tasks: list[Task], config: SweepConfig, out: Path, executor: str, jobs: int, slurm: SlurmOptions) -> str:
    """What ``--dry-run`` prints: the executor's settings and one line per run it would start."""
    if executor == "slurm":
        head = f"slurm job array of {len(tasks)} jobs, logs in {out.resolve() / 'slurm'}; submitit parameters: "
        head += ", ".join(f"{k}={v}" for k, v in slurm_parameters(slurm).items())
    elif executor == "processes":
        head = f"{jobs} local processes × {config.cpu_threads} torch threads, {len(tasks)} runs"
    else:
        head = f"serial, {len(tasks)} runs"
    lines = [head] + [f"  {config.run_id(lr, seed)}  lr={lr:g} seed={seed}" for lr, seed in tasks]
    return "\n".join(lines)


def _slurm(
    tasks: list[Task],
    config: SweepConfig,
    out: Path,
    device: str,
    options: SlurmOptions,
    on_done: Callable[[dict[str, Any]], None],
) -> list[str]:
    import submitit

    folder = out.resolve() / "slurm"
    executor = submitit.AutoExecutor(folder=folder, cluster=options.cluster)
    executor.update_parameters(**slurm_parameters(options))
    n = len(tasks)
    lrs, seeds = [t[0] for t in tasks], [t[1] for t in tasks]
    jobs = executor.map_array(_execute, [config] * n, lrs, seeds, [str(out.resolve())] * n, [device] * n)
    failures = []
    for job, (lr, seed) in zip(jobs, tasks):
        try:
            on_done(job.result())
        except Exception as e:  # a lost job or killed node: the run stays unfinished and is redone on rerun
            failures.append(f"{config.run_id(lr, seed)} (job {job.job_id}): {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    return failures

