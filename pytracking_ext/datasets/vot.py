"""VOT: the VOT2018 folder layout (60 fixed sequences) and the VOT toolkit workspace layout.

* VOT2018: ``<root>/<seq>/color/%08d.jpg`` and ``<root>/<seq>/groundtruth.txt``.
* Toolkit (2020+): ``<root>/sequences/list.txt`` (or ``<root>/list.txt`` when the root is the
  ``sequences`` folder itself), ``<seq>/sequence`` (``channels.color=color/%08d.jpg``),
  ``groundtruth.txt`` or, for multi-object stacks, ``groundtruth_<obj>.txt``.

Region lines are rectangles, 8-value polygons (reduced to their min/max box, 'union') or RLE masks
``m...`` (box = tight foreground box; the frame-0 mask becomes the init mask). The number of
ground-truth lines defines the number of frames.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from ..evaluation.data import Sequence, SequenceList
from ..settings import EnvSettings
from ..utils.io import image_size
from ..utils.vot_region import decode_region
from .common import check_init_box, natural_key, read_name_list, read_text, require_dir

VOT2018_NAMES: tuple[str, ...] = tuple(
    "ants1 ants3 bag ball1 ball2 basketball birds1 blanket bmx bolt1 bolt2 book butterfly car1 conduction1 "
    "crabs1 crossing dinosaur drone_across drone_flip drone1 fernando fish1 fish2 fish3 flamingo1 frisbee girl "
    "glove godfather graduate gymnastics1 gymnastics2 gymnastics3 hand handball1 handball2 helicopter iceskater1 "
    "iceskater2 leaves matrix motocross1 motocross2 nature pedestrian1 rabbit racing road shaking sheep singer2 "
    "singer3 soccer1 soccer2 soldier tiger traffic wiper zebrafish1".split()
)

DEFAULT_COLOR_PATTERN = "color/%08d.jpg"
_MULTI_GT = re.compile(r"^groundtruth_(?P<obj>[^.]+)\.txt$")


def read_sequence_metadata(folder: Path) -> dict[str, str]:
    """``key=value`` lines of a toolkit ``sequence`` file (empty when the file is absent)."""
    path = folder / "sequence"
    if not path.is_file():
        return {}
    meta = {}
    for line in read_text(path, "VOT sequence file").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            meta[key.strip()] = value.strip()
    return meta


def pattern_frames(folder: Path, pattern: str, count: int) -> list[str]:
    """``folder / (pattern % i)`` for i = 1..count, checking that the first and last exist."""
    try:
        frames = [str(folder / (pattern % i)) for i in range(1, count + 1)]
    except (TypeError, ValueError):
        raise DatasetError(f"{folder / 'sequence'}: channel pattern {pattern!r} is not a %d file pattern") from None
    for path in (frames[0], frames[-1]):
        if not Path(path).is_file():
            raise DatasetError(f"frame not found: {path} (groundtruth has {count} lines)")
    return frames


def read_regions(path: Path, frame0: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Boxes ``(N, 4)`` of a region file, and the frame-0 mask when regions are masks.

    ``frame0`` is needed only for masks, to size the init mask like the image.
    """
    lines = [ln for ln in read_text(path, "VOT ground truth").splitlines() if ln.strip()]
    if not lines:
        raise DatasetError(f"{path}: ground-truth file is empty")
    boxes, init_mask = [], None
    for lineno, line in enumerate(lines, 1):
        size = None
        if line.lstrip()[:1] in "mM" and lineno == 1 and frame0 is not None:
            height, width = image_size(frame0)
            size = (width, height)
        region = decode_region(line, image_size=size, where=f"{path} line {lineno}")
        if region["kind"] in ("special", "unknown"):
            raise DatasetError(f"{path}: line {lineno} is a {region['kind']} region, not a ground-truth box")
        if lineno == 1 and region["kind"] == "mask":
            init_mask = region["mask"]
        boxes.append(region["bbox"])
    return np.asarray(boxes, dtype=np.float64), init_mask


def _count_lines(path: Path) -> int:
    return sum(1 for ln in read_text(path, "VOT ground truth").splitlines() if ln.strip())


def vot_sequence(folder: Path, name: str) -> Sequence:
    """One VOT sequence folder (single- or multi-object)."""
    require_dir(folder, f"VOT sequence folder of '{name}'")
    pattern = read_sequence_metadata(folder).get("channels.color", DEFAULT_COLOR_PATTERN)
    single = folder / "groundtruth.txt"
    object_files = (
        {}
        if single.is_file()
        else {
            m.group("obj"): folder / m.group(0)
            for m in (_MULTI_GT.match(p.name) for p in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)))
            if m
        }
    )
    if not single.is_file() and not object_files:
        raise DatasetError(f"VOT ground truth not found: {single} (nor groundtruth_<obj>.txt)")
    count_file = single if single.is_file() else next(iter(object_files.values()))
    frames = pattern_frames(folder, pattern, _count_lines(count_file))
    if not object_files:
        boxes, mask = read_regions(single, frames[0])
        check_init_box(boxes[0], single)
        init: dict[str, Any] = {"bbox": [float(v) for v in boxes[0]]}
        if mask is not None:
            init["mask"] = mask
        return Sequence(name, frames, "vot", boxes, init_data={0: init})
    gt: dict[str, np.ndarray] = OrderedDict()
    label = None
    for obj, path in object_files.items():
        boxes, mask = read_regions(path, frames[0])
        if len(boxes) != len(frames):
            raise DatasetError(f"{path}: {len(boxes)} ground-truth lines, but {count_file.name} has {len(frames)}")
        check_init_box(boxes[0], path)
        gt[obj] = boxes
        if mask is not None:
            if not obj.isdigit():
                raise DatasetError(f"{path}: mask objects need integer ids to form a label image, got '{obj}'")
            label = np.zeros_like(mask) if label is None else label
            label[mask > 0] = int(obj)
    init = {"bbox": OrderedDict((obj, [float(v) for v in b[0]]) for obj, b in gt.items()), "object_ids": list(gt)}
    if label is not None:
        init["mask"] = label
    return Sequence(name, frames, "vot", gt, init_data={0: init}, object_ids=list(gt), multiobj_mode=True)


def _workspace_list(root: Path) -> tuple[Path, list[str]] | None:
    for folder in (root / "sequences", root):
        if (folder / "list.txt").is_file():
            return folder, read_name_list(folder / "list.txt", "VOT sequence list")
    return None


def load_vot(root: Path, settings: EnvSettings) -> SequenceList:
    """A toolkit workspace when ``list.txt`` is present, else the 60 VOT2018 sequences."""
    listed = _workspace_list(Path(root))
    folder, names = listed if listed is not None else (Path(root), list(VOT2018_NAMES))
    return SequenceList(vot_sequence(folder / name, name) for name in names)
