"""List the globals (classes and functions) a pickle names, by reading its opcodes; nothing is unpickled.

Used to refuse a checkpoint before any loader touches it, with an error that names what the file
asks for (docs/security.md). The scan only has to be exact for honest files: a file built to hide
a name from it is still refused by the ``weights_only`` unpickler that reads the file afterwards.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path

#: what a ``STACK_GLOBAL`` whose operands are not plain string literals is reported as
UNRESOLVED = "<a global assembled at load time>"

_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
_NEUTRAL_OPS = {"FRAME", "PROTO"}  # framing: pushes nothing, may sit between a global's two strings


def pickle_globals(data: bytes) -> set[str]:
    """Globals named by the pickles in ``data`` (consecutive pickles, as in PyTorch's pre-1.6 format).

    Scanning stops at the first byte that is not a pickle (the raw tensor data that follows them).
    """
    found: set[str] = set()
    position = 0
    while position < len(data):
        try:
            position = _scan_one(data, position, found)
        except (ValueError, IndexError, KeyError):  # raw bytes after the pickles, or a damaged pickle
            break
    return found


def _scan_one(data: bytes, start: int, found: set[str]) -> int:
    """Add the globals of the pickle at ``start``; returns the offset after its STOP."""
    recent: list[str | None] = []  # values pushed lately, strings kept: STACK_GLOBAL takes the last two
    memo: dict[int, str | None] = {}
    end = start
    for opcode, arg, offset in pickletools.genops(io.BytesIO(memoryview(data)[start:])):
        name = opcode.name
        end = start + offset + 1
        if name in ("GLOBAL", "INST"):
            found.add(str(arg).replace(" ", "."))
            recent.append(None)
        elif name == "STACK_GLOBAL":
            pair = recent[-2:]
            found.add(
                f"{pair[0]}.{pair[1]}" if len(pair) == 2 and all(isinstance(p, str) for p in pair) else UNRESOLVED
            )
            recent = recent[:-2] + [None]
        elif name in _STRING_OPS:
            recent.append(arg if isinstance(arg, str) else arg.decode("latin-1"))
        elif name == "MEMOIZE":
            memo[len(memo)] = recent[-1] if recent else None
        elif name in _PUT_OPS:
            memo[int(arg)] = recent[-1] if recent else None
        elif name in _GET_OPS:
            recent.append(memo.get(int(arg)))
        elif name == "STOP":
            break
        elif name not in _NEUTRAL_OPS:
            recent.append(None)
    return end


def checkpoint_globals(path: Path) -> set[str]:
    """Globals named by a PyTorch checkpoint file: the ``data.pkl`` of a zip file, else the whole file."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [name for name in archive.namelist() if name.endswith("data.pkl")]
            return set().union(*(pickle_globals(archive.read(name)) for name in names)) if names else set()
    return pickle_globals(Path(path).read_bytes())
