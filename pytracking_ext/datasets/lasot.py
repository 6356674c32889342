"""LaSOT (protocol II): ``<root>/<class>/<class>-<k>/img/%08d.jpg`` plus ``groundtruth.txt`` and flag files.

The number of ground-truth lines defines the number of frames; ``target_visible`` is true where
both single-line flag files (``full_occlusion.txt``, ``out_of_view.txt``) hold 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..evaluation.data import Sequence, SequenceList
from ..settings import EnvSettings
from .common import natural_key, numbered_frames, read_boxes, read_text, require_dir, sequence_table
from .lasot_table import LASOT_TEST_NAMES

_NAME = re.compile(r"^(?P<cls>.+)-(?P<k>\d+)$")


def class_of(name: str) -> str:
    """``'airplane'`` for ``'airplane-1'``."""
    match = _NAME.match(name)
    if match is None:
        raise DatasetError(f"LaSOT sequence name '{name}' is not of the form <class>-<number>")
    return match.group("cls")


def read_flags(path: Path, num_frames: int) -> np.ndarray:
    """A single-line 0/1 flag file as a bool array of ``num_frames`` entries."""
    values = [v for v in re.split(r"[,\s]+", read_text(path, "flag file").strip()) if v]
    try:
        flags = np.array([int(float(v)) for v in values], dtype=np.int64)
    except ValueError:
        raise DatasetError(f"{path}: flags must be 0/1 integers separated by commas") from None
    if flags.size != num_frames:
        raise DatasetError(f"{path}: {flags.size} flags for {num_frames} frames (groundtruth.txt lines)")
    if not np.isin(flags, (0, 1)).all():
        raise DatasetError(f"{path}: flags must be 0 or 1")
    return flags.astype(bool)


def lasot_sequence(root: Path, name: str, object_class: str | None = None, dataset: str = "lasot") -> Sequence:
    """One LaSOT-layout sequence ``<root>/<class>/<name>``."""
    object_class = object_class or class_of(name)
    folder = Path(root) / class_of(name) / name
    require_dir(folder, f"LaSOT sequence folder of '{name}'", non_empty=True)
    boxes = read_boxes(folder / "groundtruth.txt")
    n = boxes.shape[0]
    frames = numbered_frames(folder / "img", 1, n, 8, "jpg")
    occluded = read_flags(folder / "full_occlusion.txt", n)
    out_of_view = read_flags(folder / "out_of_view.txt", n)
    return Sequence(name, frames, dataset, boxes, object_class=object_class, target_visible=~occluded & ~out_of_view)


def _table_names(root: Path) -> list[tuple[str, str | None]] | None:
    entries = sequence_table(root, "lasot")
    if entries is None:
        return None
    return [(str(e["name"]), e.get("object_class")) for e in entries]


def load_lasot(root: Path, settings: EnvSettings) -> SequenceList:
    """The 280 test sequences in registry order (or those of ``sequence_table.json``)."""
    names = _table_names(root) or [(name, None) for name in LASOT_TEST_NAMES]
    return SequenceList(lasot_sequence(root, name, cls) for name, cls in names)


def _scan(root: Path, what: str) -> list[str]:
    """All ``<class>/<class>-<k>`` folders under ``root``, classes sorted, numbers in natural order."""
    names = []
    for class_dir in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        names += sorted(
            (p.name for p in class_dir.iterdir() if p.is_dir() and p.name.startswith(class_dir.name + "-")),
            key=natural_key,
        )
    if not names:
        raise DatasetError(f"{what}: no <class>/<class>-<k> sequence folders in {root}")
    return names


def load_lasot_train(root: Path, settings: EnvSettings) -> SequenceList:
    """Every sequence under the class folders that is not in the test split (1120 in the full download)."""
    test = {name for name, _ in (_table_names(root) or [(n, None) for n in LASOT_TEST_NAMES])}
    names = [n for n in _scan(root, "LaSOT train") if n not in test]
    if not names:
        raise DatasetError(f"LaSOT train: every sequence in {root} belongs to the test split")
    return SequenceList(lasot_sequence(root, name) for name in names)


def load_lasot_extension_subset(root: Path, settings: EnvSettings) -> SequenceList:
    """LaSOT-ext (150 sequences): every sequence folder under ``root`` (or the table's list)."""
    table = sequence_table(root, ("lasot_extension_subset", "lasot"))
    if table is not None:
        names = [(str(e["name"]), e.get("object_class")) for e in table]
    else:
        names = [(n, None) for n in _scan(root, "LaSOT extension subset")]
    return SequenceList(lasot_sequence(root, name, cls, dataset="lasot_extension_subset") for name, cls in names)
