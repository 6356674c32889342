"""GOT-10k: ``<root>/<split>/list.txt`` and ``<split>/<seq>/{%08d.jpg, groundtruth.txt, meta_info.ini}``.

Frames are the folder's ``*.jpg`` sorted by integer stem. The test split publishes only the first
box; val has one box per frame. ``ltrval`` is LTR's validation subset of ``train``, selected by
the indices in ``got10k_val_split.txt`` (found in the root or in setting ``dataspec_path``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..evaluation.data import Sequence, SequenceList
from ..settings import EnvSettings
from ..utils.io import load_text
from .common import listed_frames, read_boxes, read_name_list, read_text, require_dir

LTRVAL_SPLIT_FILE = "got10k_val_split.txt"


def read_object_class(meta_path: Path) -> str | None:
    """``object_class`` from ``meta_info.ini`` (read by key, not by line position), if present."""
    if not meta_path.is_file():
        return None
    for line in read_text(meta_path, "GOT-10k meta_info.ini", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "object_class":
            return value.strip() or None
    return None


def read_visibility(folder: Path, num_frames: int) -> np.ndarray | None:
    """``(absence == 0) & (cover > 0)`` per frame from the label files (None when they are absent)."""
    absence_file, cover_file = folder / "absence.label", folder / "cover.label"
    if not (absence_file.is_file() and cover_file.is_file()):
        return None
    absence = load_text(absence_file).reshape(-1)
    cover = load_text(cover_file).reshape(-1)
    for path, flags in ((absence_file, absence), (cover_file, cover)):
        if len(flags) != num_frames:
            raise DatasetError(f"{path}: {len(flags)} lines for {num_frames} frames")
    return (absence == 0) & (cover > 0)


def got10k_sequence(folder: Path, name: str, first_box_only: bool) -> Sequence:
    require_dir(folder, f"GOT-10k sequence folder of '{name}'")
    frames = listed_frames(folder, "*.jpg", integer_stems=True)
    boxes = read_boxes(folder / "groundtruth.txt", len(frames), first_only_ok=first_box_only)
    visible = None if first_box_only else read_visibility(folder, len(frames))
    return Sequence(
        name, frames, "got10k", boxes, object_class=read_object_class(folder / "meta_info.ini"), target_visible=visible
    )


def _ltrval_names(root: Path, settings: EnvSettings) -> list[str]:
    candidates = [root / LTRVAL_SPLIT_FILE]
    if settings.dataspec_path:
        candidates.append(Path(settings.dataspec_path).expanduser() / LTRVAL_SPLIT_FILE)
    split_file = next((p for p in candidates if p.is_file()), None)
    if split_file is None:
        raise DatasetError(
            f"got10k_ltrval: {LTRVAL_SPLIT_FILE} not found in {root} or in setting dataspec_path "
            f"({settings.dataspec_path or 'unset'})"
        )
    train = read_name_list(root / "train" / "list.txt", "GOT-10k train list")
    names = []
    for lineno, text in enumerate(read_name_list(split_file, "GOT-10k ltrval split"), 1):
        if not text.isdigit() or int(text) >= len(train):
            raise DatasetError(
                f"{split_file}: line {lineno} ({text!r}) is not an index into {len(train)} train sequences"
            )
        names.append(train[int(text)])
    return names


def load_got10k(root: Path, settings: EnvSettings, split: str) -> SequenceList:
    """Sequences of ``split`` ('test', 'val', 'train' or 'ltrval') in ``list.txt`` order."""
    if split == "ltrval":
        folder, names = root / "train", _ltrval_names(root, settings)
    elif split in ("test", "val", "train"):
        folder = require_dir(root / split, f"GOT-10k {split} folder")
        names = read_name_list(folder / "list.txt", f"GOT-10k {split} list")
    else:
        raise DatasetError(f"GOT-10k: unknown split '{split}' (test, val, train, ltrval)")
    return SequenceList(got10k_sequence(folder / name, name, first_box_only=split == "test") for name in names)
