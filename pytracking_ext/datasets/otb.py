"""OTB-100 (original CVL layout): ``<Name>/img/%04d.jpg`` and ``<Name>/groundtruth_rect.txt``.

Frames come from the table (``otb_table.py`` or ``sequence_table.json``), not from the folder:
some sequences start late (David at 300) or omit leading frames (Tiger1, ``initOmit`` 5), and two
targets of one video use ``groundtruth_rect.1.txt`` / ``.2.txt``. Annotation files use commas,
tabs or spaces depending on the sequence, so each is tried in turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..evaluation.data import SequenceList
from ..settings import EnvSettings
from .common import sequence_table, table_sequence
from .otb_table import OTB_TABLE

_COLUMNS = ("name", "path", "startFrame", "endFrame", "nz", "ext", "anno_path", "initOmit")


def _builtin_entries() -> Iterator[dict[str, Any]]:
    for row in OTB_TABLE:
        yield dict(zip(_COLUMNS, row))


def load_otb(root: Path, settings: EnvSettings) -> SequenceList:
    """The 100 OTB sequences in table order."""
    entries = sequence_table(root, "otb") or list(_builtin_entries())
    return SequenceList(table_sequence(root, e, "otb", delimiters=(",", "\t", None)) for e in entries)
