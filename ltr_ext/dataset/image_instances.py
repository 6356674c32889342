"""Static images with instance masks as one-frame pseudo-sequences (COCO and LVIS, as LTR uses them).

Each kept instance annotation is a sequence of length 1: the sampler asks for several frame ids
and gets copies of the same image, box and mask, which processing then jitters and crops
independently. Annotations are read with the official APIs (``pycocotools`` for COCO, ``lvis`` for
LVIS); without the package, using the dataset is a one-line error saying what to install.
Filters: category names and a minimum mask area; COCO crowd regions are never kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pytracking_ext.errors import DatasetError
from pytracking_ext.registry import Registry
from pytracking_ext.utils.io import imread_rgb

from .video_dataset import BaseVideoDataset


@dataclass
class _Api:
    """What we need from an annotation API: annotations, images, categories, mask decoding."""

    anns: list[dict]
    imgs: dict[int, dict]
    cats: dict[int, dict]
    to_mask: Callable[[dict], np.ndarray]


def _coco_api(annotation_file: Path) -> _Api:
    try:
        from pycocotools.coco import COCO
    except ImportError:
        raise DatasetError("COCO training data needs pycocotools: pip install pycocotools") from None
    api = COCO(str(annotation_file))
    anns = [a for a in api.dataset["annotations"] if not a.get("iscrowd", 0)]
    return _Api(anns, api.imgs, api.cats, api.annToMask)


def _lvis_api(annotation_file: Path) -> _Api:
    try:
        from lvis import LVIS
    except ImportError:
        raise DatasetError("LVIS training data needs the lvis package: pip install lvis") from None
    api = LVIS(str(annotation_file))
    return _Api(list(api.anns.values()), api.imgs, api.cats, api.ann_to_mask)


#: annotation format -> reader (another format is one more entry).
ANNOTATION_APIS = Registry("annotation format")
ANNOTATION_APIS.add_all({"coco": _coco_api, "lvis": _lvis_api})


def _image_name(image: dict) -> str:
    if image.get("file_name"):
        return image["file_name"]
    if image.get("coco_url"):
        return image["coco_url"].rsplit("/", 1)[-1]
    raise DatasetError(f"image {image.get('id')} has neither file_name nor coco_url")


class InstanceImageDataset(BaseVideoDataset):
    """Instances of an annotation file as one-frame sequences with box and mask."""

    def __init__(
        self,
        name: str,
        annotation_file: str | Path,
        image_dir: str | Path,
        api: str,
        categories: list[str] | None = None,
        min_area: float = 0.0,
    ) -> None:
        self.name = name
        annotation_file, self.image_dir = Path(annotation_file), Path(image_dir)
        if not annotation_file.is_file():
            raise DatasetError(f"{name}: annotation file not found: {annotation_file}")
        if not self.image_dir.is_dir():
            raise DatasetError(f"{name}: image folder not found: {self.image_dir}")
        self.api = ANNOTATION_APIS.get(api)(annotation_file)
        wanted = None
        if categories is not None:
            by_name = {c["name"]: cid for cid, c in self.api.cats.items()}
            unknown = sorted(set(categories) - set(by_name))
            if unknown:
                raise DatasetError(f"{name}: unknown categories {', '.join(unknown)}")
            wanted = {by_name[c] for c in categories}
        self.anns = [
            a
            for a in self.api.anns
            if (wanted is None or a["category_id"] in wanted)
            and a.get("area", 0) >= min_area
            and a["bbox"][2] > 0
            and a["bbox"][3] > 0
        ]
        if not self.anns:
            raise DatasetError(f"{name}: no instances left after the category/area filters")

    def is_video_sequence(self) -> bool:
        return False

    def has_class_info(self) -> bool:
        return True

    def has_segmentation_info(self) -> bool:
        return True

    def get_num_sequences(self) -> int:
        return len(self.anns)

    def get_class_list(self) -> list[str]:
        return sorted(c["name"] for c in self.api.cats.values())

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        box = torch.tensor([self.anns[seq_id]["bbox"]], dtype=torch.float32)
        valid = (box[:, 2] > 0) & (box[:, 3] > 0)
        return {"bbox": box, "valid": valid, "visible": valid.clone()}

    def get_frames(self, seq_id: int, frame_ids: list[int], anno: dict | None = None) -> tuple[list, dict, dict]:
        ann = self.anns[seq_id]
        image = imread_rgb(self.image_dir / _image_name(self.api.imgs[ann["image_id"]]))
        mask = torch.from_numpy(self.api.to_mask(ann).astype(np.float32))
        info = anno if anno is not None else self.get_sequence_info(seq_id)
        count = len(frame_ids)
        frame_anno: dict[str, Any] = {key: [value[0]] * count for key, value in info.items()}
        frame_anno["mask"] = [mask] * count
        category = self.api.cats[ann["category_id"]]
        meta = {
            "object_class_name": category["name"],
            "major_class": category.get("supercategory"),
            "image_id": ann["image_id"],
        }
        return [image.copy() for _ in range(count)], frame_anno, meta


def coco(root: str | Path, split: str = "train", version: str = "2017", **filters: Any) -> InstanceImageDataset:
    """COCO: ``<root>/images/<split><version>/`` and ``<root>/annotations/instances_<split><version>.json``."""
    root = Path(root)
    return InstanceImageDataset(
        "coco",
        root / "annotations" / f"instances_{split}{version}.json",
        root / "images" / f"{split}{version}",
        "coco",
        **filters,
    )


def lvis(root: str | Path, split: str = "train", annotation: str | None = None, **filters: Any) -> InstanceImageDataset:
    """LVIS: ``<root>/images/<split>2017/`` and ``<root>/annotations/lvis_v1_<split>.json`` (or ``annotation``)."""
    root = Path(root)
    annotation_file = Path(annotation) if annotation else root / "annotations" / f"lvis_v1_{split}.json"
    return InstanceImageDataset("lvis", annotation_file, root / "images" / f"{split}2017", "lvis", **filters)
