"""UAV123: ``<root>/data_seq/UAV123/<video>/%06d.jpg`` and ``<root>/anno/UAV123/<name>.txt``.

The 123 sequences come from the built-in table (``uav_table.py``) or from ``sequence_table.json``;
absent targets are ``NaN`` rows, which only this dataset accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..evaluation.data import SequenceList
from ..settings import EnvSettings
from .common import sequence_table, table_sequence
from .uav_table import UAV_TABLE


def _builtin_entries() -> Iterator[dict[str, Any]]:
    for name, folder, start, end, object_class in UAV_TABLE:
        yield {
            "name": f"uav_{name}",
            "path": f"data_seq/UAV123/{folder}",
            "startFrame": start,
            "endFrame": end,
            "nz": 6,
            "ext": "jpg",
            "anno_path": f"anno/UAV123/{name}.txt",
            "object_class": object_class,
        }


def load_uav(root: Path, settings: EnvSettings) -> SequenceList:
    """The UAV123 sequences in table order."""
    entries = sequence_table(root, "uav") or list(_builtin_entries())
    return SequenceList(table_sequence(root, e, "uav", allow_nan=True) for e in entries)
