"""Evaluation sequences, with PyTracking's attributes and ``frame_info`` semantics.

A :class:`Sequence` lists frame paths (index 0 = the first init frame), ground-truth boxes and
optional masks, and ``init_data`` ``{frame: {'bbox', 'mask', 'object_ids'}}``. When the first
object starts at frame k > 0 (YouTube-VOS) loaders drop the k leading frames as PyTracking does
and record their paths in ``dropped_frames``, so the runner can still write all-background
masks for them and submission folders stay complete.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..utils.io import imread_indexed


@dataclass
class Sequence:
    """One evaluation sequence (single- or multi-object)."""

    name: str
    frames: list[str]
    dataset: str
    ground_truth_rect: np.ndarray | dict[str, np.ndarray]
    ground_truth_seg: list[str | None] | None = None
    init_data: dict[int, dict[str, Any]] | None = None
    object_class: str | None = None
    target_visible: np.ndarray | None = None
    object_ids: list[str] | None = None
    multiobj_mode: bool = False
    attributes: list[str] = field(default_factory=list)
    # Frames dropped before the first init frame (YouTube-VOS objects that start late).
    dropped_frames: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.init_data is None:
            self.init_data = self._init_data_from_ground_truth()
        self.init_data = {int(k): v for k, v in self.init_data.items()}

    def _init_data_from_ground_truth(self) -> dict[int, dict[str, Any]]:
        gt = self.ground_truth_rect
        if isinstance(gt, dict):
            boxes = OrderedDict((oid, list(map(float, rect[0]))) for oid, rect in gt.items())
            data: dict[str, Any] = {"bbox": boxes, "object_ids": list(boxes)}
        else:
            data = {"bbox": list(map(float, np.asarray(gt)[0, :4]))}
        if self.ground_truth_seg and self.ground_truth_seg[0] is not None:
            data["mask"] = self.ground_truth_seg[0]
        return {0: data}

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def frame_names(self) -> list[str]:
        """File stems of the frames (the names of result PNGs)."""
        return [Path(f).stem for f in self.frames]

    def object_info(self, frame: int) -> dict[str, Any]:
        return self.init_data.get(frame, {})

    def frame_info(self, frame: int) -> dict[str, Any]:
        """The ``info`` dict for ``frame``: init keys on frames where objects start, else empty."""
        data = self.init_data.get(frame)
        if not data:
            return {}
        info: dict[str, Any] = {}
        bbox = data.get("bbox")
        if bbox is not None:
            info["init_bbox"] = bbox
        if data.get("mask") is not None:
            info["init_mask"] = self._load_mask(data["mask"])
        if data.get("object_ids") is not None:
            info["init_object_ids"] = list(data["object_ids"])
        if self.object_ids is not None:
            info["object_ids"] = list(self.object_ids)
            info["sequence_object_ids"] = list(self.object_ids)
        return info

    def _load_mask(self, mask: Any) -> np.ndarray:
        array = imread_indexed(mask) if isinstance(mask, (str, Path)) else np.asarray(mask)
        if not self.multiobj_mode and self.object_ids and len(self.object_ids) == 1:
            # single-object view of a VOS sequence: binary mask of that object
            return (array == int(self.object_ids[0])).astype(np.uint8)
        return array.astype(np.uint8)

    def init_info(self) -> dict[str, Any]:
        return self.frame_info(0)

    def init_bbox(self, frame: int = 0):
        return self.init_data.get(frame, {}).get("bbox")

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)


class SequenceList(list):
    """A list of sequences indexable by position, name, list of positions, or slice."""

    def __getitem__(self, item):  # type: ignore[override]
        if isinstance(item, str):
            for seq in self:
                if seq.name == item:
                    return seq
            raise IndexError(f"sequence '{item}' not in this list ({len(self)} sequences)")
        if isinstance(item, slice):
            return SequenceList(super().__getitem__(item))
        if isinstance(item, (list, tuple)):
            return SequenceList([super(SequenceList, self).__getitem__(i) for i in item])
        return super().__getitem__(item)

    def __add__(self, other: Iterable[Sequence]) -> SequenceList:
        return SequenceList(list(self) + list(other))

    def names(self) -> list[str]:
        return [seq.name for seq in self]

    def select(self, spec: str | int | None) -> SequenceList:
        """``--sequence`` semantics: an int index, a name, or ``None`` for all."""
        if spec is None:
            return self
        if isinstance(spec, str) and spec.lstrip("-").isdigit():
            spec = int(spec)
        if isinstance(spec, int):
            if not -len(self) <= spec < len(self):
                raise IndexError(f"sequence index {spec} out of range (0..{len(self) - 1})")
            return SequenceList([super().__getitem__(spec)])
        return SequenceList([self[spec]])
