"""Progress reporting that suits both a terminal and a redirected log.

On a terminal, a tqdm bar. Anywhere else (a log file, CI, a pipe), tqdm's redraws fill the log
(22 KB of stderr for the demo, issue 20 item 7), so the helper prints one line per finished item
instead, or nothing at all for inner loops (``lines=False``: the frames of one sequence).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def is_terminal(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (default: stderr) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or file-like objects without isatty
        return False


class Progress:
    """A tqdm bar on a terminal; otherwise one line per finished item (or silence with ``lines=False``).

    ``advance(message)`` marks one item finished; the message (e.g. ``"seq-1: 20.1 FPS"``) is
    printed above the bar on a terminal and becomes the item's line elsewhere.
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        unit: str = "it",
        *,
        leave: bool = True,
        lines: bool = True,
        enabled: bool = True,
        stream: IO[str] | None = None,
    ) -> None:
        self.total = total
        self.desc = desc
        self.count = 0
        self._stream = sys.stderr if stream is None else stream
        self._lines = lines and enabled
        self._bar = None
        if enabled and is_terminal(self._stream):
            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=leave, file=self._stream)

    @property
    def is_bar(self) -> bool:
        """Whether a tqdm bar is shown (stderr is a terminal)."""
        return self._bar is not None

    def advance(self, message: str = "") -> None:
        """One more item finished; ``message`` says how it went."""
        self.count += 1
        if self._bar is not None:
            if message:
                self._bar.write(message, file=self._stream)
            self._bar.update(1)
        elif self._lines:
            of = f"/{self.total}" if self.total is not None else ""
            self._print(f"{self.desc} {self.count}{of}" + (f": {message}" if message else ""))

    def write(self, message: str) -> None:
        """A line that is not an item (a warning): above the bar, or printed as it is."""
        if self._bar is not None:
            self._bar.write(message, file=self._stream)
        else:
            self._print(message)

    def set_postfix_str(self, text: str) -> None:
        """What the bar is working on now (only shown on a terminal)."""
        if self._bar is not None:
            self._bar.set_postfix_str(text)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _print(self, line: str) -> None:
        print(line, file=self._stream, flush=True)


def progress(
    iterable: Iterable[T],
    total: int | None,
    desc: str,
    unit: str = "it",
    *,
    leave: bool = True,
    lines: bool = True,
    enabled: bool = True,
) -> Iterator[T]:
    """Iterate over ``iterable``, reporting each item as finished when the next one is asked for."""
    with Progress(total, desc, unit, leave=leave, lines=lines, enabled=enabled) as bar:
        for item in iterable:
            yield item
            bar.advance()
