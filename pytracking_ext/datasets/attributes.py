"""Per-sequence attribute files (``LaSOT_attributes.json``, ``UAV123_attributes.json``, ``otb_attributes.json``).

Format: ``{"att_name_short": [...], "att_name_long": [...], "<sequence key>": ["IV", ...]}``.
A file is looked for in the dataset root first, then in the folder of setting ``dataspec_path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DatasetError, UnknownNameError
from .common import read_json


@dataclass(frozen=True)
class AttributeTable:
    """Attribute names (short and long, same order) and each sequence's short codes."""

    short: tuple[str, ...]
    long: tuple[str, ...]
    per_sequence: dict[str, tuple[str, ...]]
    source: Path

    def short_name(self, attribute: str) -> str:
        """The short code of ``attribute`` given in short or long form (case-insensitive)."""
        wanted = attribute.strip().lower()
        for short, long in zip(self.short, self.long):
            if wanted in (short.lower(), long.lower()):
                return short
        known = ", ".join(f"{s} ({long_})" for s, long_ in zip(self.short, self.long))
        raise UnknownNameError(f"unknown attribute '{attribute}' in {self.source}; known attributes: {known}")

    def long_name(self, short: str) -> str:
        return self.long[self.short.index(short)]

    def of(self, key: str) -> tuple[str, ...]:
        return self.per_sequence.get(key, ())


def find_attribute_file(file_name: str, root: Path | None, dataspec_path: str | None) -> Path | None:
    """The first existing ``file_name`` in ``root`` or ``dataspec_path``."""
    for folder in (root, Path(dataspec_path).expanduser() if dataspec_path else None):
        if folder is not None and (Path(folder) / file_name).is_file():
            return Path(folder) / file_name
    return None


def load_attribute_table(path: Path) -> AttributeTable:
    """Parse and check an attribute file."""
    data: Any = read_json(path, "attribute file")
    if not isinstance(data, dict):
        raise DatasetError(f"attribute file {path}: expected a JSON object")
    short, long = data.get("att_name_short"), data.get("att_name_long")
    if not isinstance(short, list) or not isinstance(long, list) or len(short) != len(long) or not short:
        raise DatasetError(f"attribute file {path}: 'att_name_short' and 'att_name_long' must be lists of equal length")
    known = set(short)
    per_sequence: dict[str, tuple[str, ...]] = {}
    for key, codes in data.items():
        if key in ("att_name_short", "att_name_long"):
            continue
        if not isinstance(codes, list):
            raise DatasetError(f"attribute file {path}: entry '{key}' must be a list of attribute codes")
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise DatasetError(f"attribute file {path}: entry '{key}' uses unknown attribute '{unknown[0]}'")
        per_sequence[key] = tuple(codes)
    return AttributeTable(tuple(short), tuple(long), per_sequence, Path(path))
