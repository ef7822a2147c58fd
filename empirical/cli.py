"""What every command-line program of the package shares: one-line errors, list arguments, exit codes.

A program builds its parser with :func:`parser`, does its work in a function of the parsed
arguments, and hands both to :func:`run`, which turns the package's input errors (``ValueError``
subclasses whose message names the bad value) into one line on stderr and exit status 2, and an
interrupt into status 130, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, NoReturn, Sequence, TypeVar

T = TypeVar("T")


class UsageError(ValueError):
    """A bad command line; the message names the bad value and what is accepted."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parser(prog: str, description: str, epilog: str | None = None, **options: Any) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` instead of exiting; ``options`` go to
    ``ArgumentParser`` (e.g. ``add_help=False``)."""
    return _Parser(prog=prog, description=description, epilog=epilog, **options)


def floats(text: str) -> list[float]:
    """``"0.01,0.1"`` → ``[0.01, 0.1]`` (an argparse ``type``)."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or comma-separated list of numbers") from None


def ints(text: str) -> list[int]:
    """``"0,1"`` → ``[0, 1]`` (an argparse ``type``)."""
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer or comma-separated list of integers") from None


def flat(lists: list[list[T]] | None) -> list[T] | None:
    """Flatten ``nargs="+"`` lists of comma-separated values; None stays None (no override)."""
    return None if lists is None else [v for sub in lists for v in sub]


def run(
    p: argparse.ArgumentParser,
    work: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None = None,
    errors: tuple[type[Exception], ...] = (),
    interrupted: str = "interrupted",
) -> int:
    """Parse ``argv`` and return ``work(args)``; a :class:`UsageError` or one of ``errors`` becomes
    ``<prog>: error: <message>`` on stderr and status 2, Ctrl-C ``<prog>: <interrupted>`` and 130."""
    name = p.prog.split()[-1].removeprefix("empirical.")  # hessian_sweep, verify, bench.curvature
    try:
        return work(p.parse_args(argv))
    except (UsageError, *errors) as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: {interrupted}", file=sys.stderr)
        return 130
