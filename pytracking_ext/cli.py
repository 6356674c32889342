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
