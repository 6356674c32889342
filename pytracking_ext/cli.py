"""Shared command-line pieces."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (no usage dump), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def int_pair(option: str, example: str) -> Callable[[str], tuple[int, int]]:
    """argparse type of an ``AxB`` option such as ``--crop 288x160``: two positive integers, or a
    one-line usage error naming ``option`` and an ``example``."""

    def parse(text: str) -> tuple[int, int]:
        try:
            first, second = (int(v) for v in text.lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option}: expected AxB such as {example}, got {text!r}") from None
        if first <= 0 or second <= 0:
            raise argparse.ArgumentTypeError(f"{option}: both numbers must be positive, got {text!r}")
        return first, second

    return parse


def report_error(err: BaseException, code: int = 2) -> int:
    """Print ``error: <message>`` (one line) on stderr and return the exit code for it."""
    print(f"error: {err}", file=sys.stderr)
    return code


def interruptible(run: Callable[[], int]) -> int:
    """``run()``, with Ctrl-C outside the per-sequence loop (which reports its own progress) turned
    into one line and the conventional exit status 130."""
    try:
        return run()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


class _StoreWorkers(argparse.Action):
    """Stores ``--workers``; also as ``args.threads`` for callers that still read the former name."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        namespace.threads = values


class _Renamed(argparse.Action):
    """An option that was renamed: using it is a one-line usage error that names the new option."""

    def __init__(self, option_strings, dest, new: str, **kwargs) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        # parser.exit, not parser.error: one line, without the usage dump (docs/conventions.md)
        what = f"{option_string} was renamed {self.new} (worker processes; {option_string} is torch threads elsewhere)"
        parser.exit(2, f"{parser.prog}: error: {what}\n")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by run_tracker and run_experiment."""
    parser.add_argument("--debug", type=int, default=0, help="debug level (errors then propagate)")
    parser.add_argument(
        "--workers", type=int, default=0, action=_StoreWorkers, help="worker processes (0 = run in this process)"
    )
    # --threads used to mean worker processes here but torch threads in run_segmentation (issue 20,
    # item 4): the old spelling fails with the new name instead of silently meaning something else.
    parser.add_argument("--threads", action=_Renamed, new="--workers", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--overwrite", action="store_true", help="re-run sequences whose results exist")
    parser.add_argument("--int-boxes", action="store_true", help="write integer boxes like PyTracking")
    add_debug_arguments(parser)


def add_debug_arguments(parser: argparse.ArgumentParser) -> None:
    """--use_visdom and the server address (views go to PNG files without it)."""
    parser.add_argument("--use_visdom", action="store_true", help="with --debug: show the views in visdom")
    parser.add_argument("--visdom_server", default="127.0.0.1")
    parser.add_argument("--visdom_port", type=int, default=8097)


def visdom_info(args: argparse.Namespace) -> dict:
    return {"use_visdom": args.use_visdom, "server": args.visdom_server, "port": args.visdom_port}


def assignment(text: str) -> tuple[str, object]:
    """argparse type of ``--set key=value``: :func:`pytracking_ext.overrides.parse_assignment` with its
    error as an argparse error (the one-line usage error, exit 2)."""
    from .errors import OverrideError
    from .overrides import parse_assignment

    try:
        return parse_assignment(text)
    except OverrideError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_set_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """The repeatable ``--set KEY=VALUE`` option (collected in ``args.assignments``)."""
    parser.add_argument(
        "--set", dest="assignments", type=assignment, action="append", default=[], metavar="KEY=VALUE", help=help
    )
