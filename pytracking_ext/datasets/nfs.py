"""NFS (30 fps) in PyTracking's re-packed layout: ``sequences/<seq>/%05d.jpg`` and ``anno/nfs_<seq>.txt``.

The official download (``<seq>/30/<seq>/*.jpg`` with 240 fps corner boxes) must be converted to
this layout first; the annotation files are tab separated ``x y w h`` lines, one per frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..evaluation.data import SequenceList
from ..settings import EnvSettings
from .common import sequence_table, table_sequence
from .nfs_table import NFS_TABLE


def _builtin_entries() -> Iterator[dict[str, Any]]:
    for name, end, _occlusion in NFS_TABLE:
        yield {
            "name": f"nfs_{name}",
            "path": f"sequences/{name}",
            "startFrame": 1,
            "endFrame": end,
            "nz": 5,
            "ext": "jpg",
            "anno_path": f"anno/nfs_{name}.txt",
        }


def load_nfs(root: Path, settings: EnvSettings) -> SequenceList:
    """The 100 NFS sequences in table order."""
    entries = sequence_table(root, "nfs") or list(_builtin_entries())
    return SequenceList(table_sequence(root, e, "nfs", delimiters=("\t", ",", None)) for e in entries)
