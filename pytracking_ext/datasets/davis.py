"""DAVIS 2016 / 2017: ``JPEGImages/480p/<seq>/%05d.jpg``, ``Annotations/480p/<seq>/%05d.png``,
``ImageSets/<year>/<split>.txt``.

One multi-object ``Sequence`` per video: object ids are the label values of frame 0 as strings
('1', '2', ...), ``init_data`` comes from frame 0, ``ground_truth_rect`` maps each id to ``(N, 4)``
boxes with ``[-1, -1, -1, -1]`` where the object is absent, and ``ground_truth_seg`` lists the PNG
of each frame (``None`` where there is none or it holds no object; test-dev annotates frame 0
only). DAVIS 2016 masks are 0/255: the object gets id 1, and the init mask is handed over as an
already mapped array. Label 255 in DAVIS 2017 is 'void' and ignored. Mask boxes are cached
under ``settings.cache_dir`` (see :mod:`.mask_meta`).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..evaluation.data import Sequence, SequenceList
from ..settings import EnvSettings
from .common import check_init_box, listed_frames, read_name_list, require_dir
from .mask_meta import FrameBoxes, cached_frame_boxes, label_image

RESOLUTION = "480p"
ABSENT_BOX = (-1.0, -1.0, -1.0, -1.0)


def _split_file(root: Path, version: str, split: str) -> Path:
    return root / "ImageSets" / version / f"{split}.txt"


def vos_sequence(
    name: str,
    frames: list[str],
    pngs: dict[str, Path],
    boxes: FrameBoxes,
    dataset: str,
    binary: bool = False,
    init_frame: int = 0,
) -> Sequence:
    """A multi-object sequence initialised on ``frames[init_frame]`` from its PNG (DAVIS-style)."""
    stems = [Path(f).stem for f in frames]
    init_stem = stems[init_frame]
    if init_stem not in pngs:
        raise DatasetError(f"{name}: no annotation PNG for init frame {init_stem}")
    init_boxes = boxes.get(init_stem, {})
    if not init_boxes:
        raise DatasetError(f"{pngs[init_stem]}: init frame annotation has no object")
    ids = sorted(init_boxes, key=int)
    for oid in ids:
        check_init_box(init_boxes[oid], pngs[init_stem])
    gt = OrderedDict(
        (oid, np.array([boxes.get(s, {}).get(oid, ABSENT_BOX) for s in stems], dtype=np.float64)) for oid in ids
    )
    seg = [str(pngs[s]) if s in pngs and boxes.get(s) else None for s in stems]
    mask = label_image(pngs[init_stem], binary=True) if binary else str(pngs[init_stem])
    init = {"bbox": OrderedDict((oid, list(init_boxes[oid])) for oid in ids), "mask": mask, "object_ids": ids}
    return Sequence(
        name,
        frames,
        dataset,
        gt,
        ground_truth_seg=seg,
        init_data={init_frame: init},
        object_ids=ids,
        multiobj_mode=True,
    )


def load_davis(root: Path, settings: EnvSettings, version: str = "2017", split: str = "val") -> SequenceList:
    """The DAVIS ``version``/``split`` videos in ``ImageSets`` order."""
    if version not in ("2016", "2017"):
        raise DatasetError(f"DAVIS: unknown version '{version}' (2016, 2017)")
    root = Path(root)
    names = read_name_list(_split_file(root, version, split), f"DAVIS {version} {split} list")
    image_root = require_dir(root / "JPEGImages" / RESOLUTION, "DAVIS image folder")
    anno_root = require_dir(root / "Annotations" / RESOLUTION, "DAVIS annotation folder")
    frames, pngs = {}, {}
    for name in names:
        frames[name] = listed_frames(image_root / name, "*.jpg")
        anno_dir = require_dir(anno_root / name, f"DAVIS annotation folder of '{name}'")
        pngs[name] = {p.stem: p for p in anno_dir.glob("*.png")}
        if not pngs[name]:
            raise DatasetError(f"DAVIS annotation folder has no PNG masks: {anno_dir}")
    binary = version == "2016"
    boxes = cached_frame_boxes(settings, f"davis{version}_{split}", root, pngs, binary=binary)
    return SequenceList(
        vos_sequence(name, frames[name], pngs[name], boxes[name], "DAVIS", binary=binary) for name in names
    )
