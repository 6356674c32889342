"""Helpers shared by the dataset loaders: folder checks, ground-truth reading, frame lists.

Every check raises :class:`DatasetError` with a one-line message naming the file or folder,
so a broken download is reported where it is broken instead of deep inside a tracker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from collections.abc import Sequence as Seq
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from ..evaluation.data import Sequence
from ..utils.boxes import box_is_valid
from ..utils.io import load_text

_DIGITS = re.compile(r"(\d+)")
_SEPARATORS = re.compile(r"[,\s]+")


def natural_key(text: str) -> list:
    """Sort key that orders ``frame2`` before ``frame10``."""
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(str(text))]


def require_dir(path: Path, what: str, non_empty: bool = False) -> Path:
    """``path`` if it is a folder (with at least one entry when ``non_empty``), else a :class:`DatasetError`."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{what} not found: {path}")
    if non_empty and next(path.iterdir(), None) is None:
        raise DatasetError(f"{what} is empty: {path}")
    return path


def require_file(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{what} not found: {path}")
    return path


def read_text(path: Path, what: str, errors: str = "strict") -> str:
    """The text of an existing file ``path``; unreadable or binary content is a :class:`DatasetError`."""
    path = require_file(path, what)
    try:
        return path.read_text(errors=errors)
    except UnicodeDecodeError:
        raise DatasetError(f"{what} {path} is not a text file") from None
    except OSError as err:  # permissions, I/O errors, removed since the check
        raise DatasetError(f"cannot read {what} {path} ({err.strerror or err})") from None


def read_name_list(path: Path, what: str = "sequence list") -> list[str]:
    """Non-empty, stripped lines of a list file (``list.txt``, ``ImageSets/.../val.txt``)."""
    names = [line.strip() for line in read_text(path, what).splitlines() if line.strip()]
    if not names:
        raise DatasetError(f"{what} is empty: {path}")
    return names


def numbered_frames(folder: Path, start: int, end: int, digits: int, ext: str) -> list[str]:
    """Paths ``folder/<start:0{digits}d>.<ext> .. <end>`` (inclusive), checking the folder and both ends exist.

    Only the first and last file are checked: statting every frame of a 280-sequence benchmark
    would cost more than the run it guards.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"sequence folder not found: {folder}")
    if end < start:
        raise DatasetError(f"{folder}: empty frame range {start}..{end}")
    ext = ext.lstrip(".")
    frames = [str(folder / f"{i:0{digits}d}.{ext}") for i in range(start, end + 1)]
    for path in (frames[0], frames[-1]):
        if not Path(path).is_file():
            raise DatasetError(
                f"frame not found: {path} (expected frames {Path(frames[0]).name}..{Path(frames[-1]).name})"
            )
    return frames


def listed_frames(folder: Path, pattern: str = "*.jpg", integer_stems: bool = False) -> list[str]:
    """Image files of ``folder`` sorted by integer stem (``integer_stems``) or naturally."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"sequence folder not found: {folder}")
    files = [p for p in folder.glob(pattern) if p.is_file()]
    if not files:
        raise DatasetError(f"sequence folder has no {pattern} frames: {folder}")
    if integer_stems:
        bad = [p.name for p in files if not p.stem.isdigit()]
        if bad:
            raise DatasetError(f"{folder}: frame name {bad[0]!r} is not an integer")
        files.sort(key=lambda p: int(p.stem))
    else:
        files.sort(key=lambda p: natural_key(p.name))
    return [str(p) for p in files]


def read_boxes(
    path: Path,
    num_frames: int | None = None,
    *,
    allow_nan: bool = False,
    first_only_ok: bool = False,
    delimiters: Seq[str | None] = (",", "\t", None),
    skip_rows: int = 0,
) -> np.ndarray:
    """Read an ``x,y,w,h`` ground-truth file as an ``(N, 4)`` float64 array and validate it.

    ``num_frames`` is the number of frames the sequence has: the file must have exactly that many
    rows (after dropping ``skip_rows``), or a single row when ``first_only_ok`` (test splits that
    publish only the init box). Zero-size rows are allowed (absent targets) but row 0 must be a
    valid init box. NaN is rejected unless ``allow_nan`` (UAV123 marks absent frames with NaN).
    """
    path = Path(path)
    try:
        boxes = load_text(path, delimiters=delimiters, allow_nan=True)
    except DatasetError as err:
        bad = first_non_numeric_line(path)
        if bad is None:
            raise
        raise DatasetError(f"{path}: line {bad[0]} has a non-numeric value: {bad[1][:60]!r}") from err
    if boxes.shape[1] != 4:
        raise DatasetError(f"{path}: {boxes.shape[1]} values per line, expected 4 (x,y,w,h)")
    boxes = boxes[skip_rows:]
    if boxes.shape[0] == 0:
        raise DatasetError(f"{path}: no ground-truth rows left after skipping {skip_rows}")
    if not allow_nan and np.isnan(boxes).any():
        line = int(np.argwhere(np.isnan(boxes))[0, 0]) + 1 + skip_rows
        raise DatasetError(f"{path}: line {line} contains NaN (only UAV123 may mark absent targets with NaN)")
    if num_frames is not None and boxes.shape[0] != num_frames:
        if not (first_only_ok and boxes.shape[0] == 1):
            relation = "fewer" if boxes.shape[0] < num_frames else "more"
            raise DatasetError(
                f"{path}: {boxes.shape[0]} ground-truth lines for {num_frames} frames ({relation} lines than frames)"
            )
    check_init_box(boxes[0], path)
    return boxes


def first_non_numeric_line(path: Path) -> tuple[int, str] | None:
    """``(line number, text)`` of the first line holding a value that is not a number, if any.

    ``load_text`` reports the failure of its last delimiter attempt, which may point at a good
    line; this finds the line that is really at fault.
    """
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:  # missing or unreadable: the caller's own error already says so
        return None
    for lineno, line in enumerate(text.splitlines(), 1):
        for token in filter(None, _SEPARATORS.split(line.strip())):
            try:
                float(token)
            except ValueError:
                return lineno, line.strip()
    return None


def check_init_box(box: Iterable[float], source: Any) -> None:
    """Raise unless ``box`` (the frame-0 box) is finite with positive width and height."""
    box = [float(v) for v in box]
    if not box_is_valid(box):
        raise DatasetError(f"{source}: init box of frame 0 {box} is not a finite box with positive width and height")


def read_json(path: Path, what: str) -> Any:
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetError(f"{what} {path} is not valid JSON: {err}") from None


TABLE_FILE = "sequence_table.json"


def sequence_table(root: Path, dataset: str | tuple[str, ...]) -> list[dict[str, Any]] | None:
    """The entries of ``<root>/sequence_table.json`` (generated datasets), or ``None`` when absent.

    Such a table replaces the hard-coded one of LaSOT, UAV123, NFS and OTB; paths in it are
    relative to ``root``.
    """
    path = Path(root) / TABLE_FILE
    if not path.is_file():
        return None
    data = read_json(path, "sequence table")
    entries = data.get("sequences") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise DatasetError(f"{path}: expected {{'dataset': ..., 'sequences': [...]}} with at least one entry")
    allowed = (dataset,) if isinstance(dataset, str) else dataset
    declared = data.get("dataset")
    if declared is not None and declared not in allowed:
        raise DatasetError(f"{path}: table is for dataset '{declared}', not '{allowed[0]}'")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "name" not in entry:
            raise DatasetError(f"{path}: entry {i} has no 'name'")
    return entries


def table_entry_fields(entry: dict[str, Any], path_hint: str, required: Seq[str]) -> None:
    missing = [key for key in required if key not in entry]
    if missing:
        raise DatasetError(f"{path_hint}: entry '{entry.get('name')}' lacks {', '.join(missing)}")


def table_sequence(
    root: Path,
    entry: dict[str, Any],
    dataset: str,
    allow_nan: bool = False,
    delimiters: Seq[str | None] = (",", "\t", None),
) -> Sequence:
    """A sequence described by one table entry (the format shared by UAV123, NFS, OTB and ``sequence_table.json``)."""
    table_entry_fields(entry, str(Path(root) / TABLE_FILE), ("name", "path", "startFrame", "endFrame", "anno_path"))
    start, end, omit = int(entry["startFrame"]), int(entry["endFrame"]), int(entry.get("initOmit") or 0)
    frames = numbered_frames(Path(root) / entry["path"], start, end, int(entry.get("nz", 6)), entry.get("ext", "jpg"))
    if omit >= len(frames):
        raise DatasetError(f"{Path(root) / TABLE_FILE}: entry '{entry['name']}' omits {omit} of {len(frames)} frames")
    # initOmit drops the first frames and their annotation rows together (OTB Tiger1).
    boxes = read_boxes(
        Path(root) / entry["anno_path"], len(frames) - omit, allow_nan=allow_nan, delimiters=delimiters, skip_rows=omit
    )
    return Sequence(str(entry["name"]), frames[omit:], dataset, boxes, object_class=entry.get("object_class"))
