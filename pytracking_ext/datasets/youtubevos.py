"""YouTube-VOS 2018 / 2019: ``<root>/<year>/<split>/{JPEGImages,Annotations}/<video>/`` and ``meta.json``.

Objects may start late: ``init_data`` has an entry for every frame where at least one object
starts (its first frame in ``meta.json``), with the ids starting there, their boxes, and that
frame's PNG. Frames before the first start are dropped, as upstream does, and their paths kept in
``Sequence.dropped_frames``. ``all_frames`` takes the frames from ``<split>_all_frames``;
``dense_gt`` (synthetic data) reads per-frame ground truth from ``<year>/valid_gt/Annotations``.
Videos are sorted by id.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from ..evaluation.data import Sequence, SequenceList
from ..settings import EnvSettings
from .common import check_init_box, listed_frames, read_json, require_dir
from .davis import ABSENT_BOX
from .mask_meta import FrameBoxes, cached_frame_boxes

DENSE_GT_FOLDER = "valid_gt"


def _objects(meta: Any, meta_path: Path) -> dict[str, dict[str, list[str]]]:
    """``{video: {object id: [frame names]}}`` from ``meta.json``."""
    videos = meta.get("videos") if isinstance(meta, dict) else None
    if not isinstance(videos, dict):
        raise DatasetError(f"{meta_path}: expected {{'videos': {{<video>: {{'objects': ...}}}}}}")
    result = {}
    for video, entry in videos.items():
        objects = entry.get("objects") if isinstance(entry, dict) else None
        if not isinstance(objects, dict) or not objects:
            raise DatasetError(f"{meta_path}: video '{video}' has no objects")
        result[video] = {}
        for oid, obj in objects.items():
            frames = obj.get("frames") if isinstance(obj, dict) else None
            if not isinstance(frames, list) or not frames or not str(oid).isdigit():
                raise DatasetError(
                    f"{meta_path}: video '{video}' object '{oid}' needs an integer id and a 'frames' list"
                )
            result[video][str(oid)] = [str(f) for f in frames]
    return result


def _pngs(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in folder.glob("*.png")} if folder.is_dir() else {}


def youtubevos_sequence(
    video: str,
    frames: list[str],
    objects: dict[str, list[str]],
    init_pngs: dict[str, Path],
    init_boxes: FrameBoxes,
    gt_pngs: dict[str, Path],
    gt_boxes: FrameBoxes,
) -> Sequence:
    """One video; ``init_*`` are the sparse start-frame annotations, ``gt_*`` the ground truth to score with."""
    stems = [Path(f).stem for f in frames]
    position = {s: i for i, s in enumerate(stems)}
    starts: dict[int, list[str]] = {}
    for oid, names in objects.items():
        if names[0] not in position:
            raise DatasetError(
                f"YouTube-VOS video '{video}': object {oid} starts at frame {names[0]}, "
                f"which is not among its {len(frames)} images"
            )
        starts.setdefault(position[names[0]], []).append(oid)
    first = min(starts)
    init_data: dict[int, dict[str, Any]] = {}
    for index in sorted(starts):
        stem = stems[index]
        png = init_pngs.get(stem)
        if png is None:
            raise DatasetError(f"YouTube-VOS video '{video}': no annotation PNG for start frame {stem}")
        ids = sorted(starts[index], key=int)
        boxes = OrderedDict()
        for oid in ids:
            if oid not in init_boxes.get(stem, {}):
                raise DatasetError(f"{png}: object {oid} starts here according to meta.json but is not in the mask")
            check_init_box(init_boxes[stem][oid], png)
            boxes[oid] = list(init_boxes[stem][oid])
        init_data[index - first] = {"object_ids": ids, "bbox": boxes, "mask": str(png)}
    kept = stems[first:]
    ids = sorted(objects, key=int)
    gt = OrderedDict(
        (oid, np.array([gt_boxes.get(s, {}).get(oid, ABSENT_BOX) for s in kept], dtype=np.float64)) for oid in ids
    )
    seg = [str(gt_pngs[s]) if s in gt_pngs else None for s in kept]
    return Sequence(
        video,
        frames[first:],
        "YouTubeVOS",
        gt,
        ground_truth_seg=seg,
        init_data=init_data,
        object_ids=ids,
        multiobj_mode=True,
        dropped_frames=list(frames[:first]),
    )


def load_youtubevos(
    root: Path,
    settings: EnvSettings,
    version: str = "2019",
    split: str = "valid",
    all_frames: bool = False,
    dense_gt: bool = False,
) -> SequenceList:
    """The videos of ``<root>/<version>/<split>`` sorted by id."""
    year = require_dir(Path(root) / version, f"YouTube-VOS {version} folder")
    base = require_dir(year / split, f"YouTube-VOS {version} {split} folder")
    meta_path = base / "meta.json"
    objects = _objects(read_json(meta_path, "YouTube-VOS meta file"), meta_path)
    image_root = year / f"{split}_all_frames" / "JPEGImages" if all_frames else base / "JPEGImages"
    require_dir(image_root, f"YouTube-VOS {version} {split} image folder")
    anno_root = require_dir(base / "Annotations", f"YouTube-VOS {version} {split} annotation folder")
    gt_root = (
        require_dir(year / DENSE_GT_FOLDER / "Annotations", "YouTube-VOS dense ground-truth folder")
        if dense_gt
        else anno_root
    )
    videos = sorted(objects)
    frames = {v: listed_frames(image_root / v, "*.jpg") for v in videos}
    init_pngs = {v: _pngs(anno_root / v) for v in videos}
    gt_pngs = {v: _pngs(gt_root / v) for v in videos} if dense_gt else init_pngs
    namespace = f"youtubevos{version}_{split}"
    init_boxes = cached_frame_boxes(settings, namespace, anno_root, init_pngs)
    gt_boxes = cached_frame_boxes(settings, namespace + "_gt", gt_root, gt_pngs) if dense_gt else init_boxes
    return SequenceList(
        youtubevos_sequence(v, frames[v], objects[v], init_pngs[v], init_boxes[v], gt_pngs[v], gt_boxes[v])
        for v in videos
    )
