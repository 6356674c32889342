"""What :class:`~pytracking_ext.api.VideoTracker` returns per frame, and the "lost" rule (docs/api.md).

A result is built from the tracker's merged multi-object output (``target_bbox``, ``segmentation``,
``object_presence_score`` per object, see docs/conventions.md) and holds nothing else: results are
streamed, never accumulated, so memory does not grow with the video (docs/api.md, long videos).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: ``presence_threshold`` when the parameter set has none: below it an object is reported lost.
DEFAULT_PRESENCE_THRESHOLD = 0.5

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ObjectResult:
    """One object on one frame.

    ``mask``: ``(H, W)`` bool for trackers that predict masks (empty when lost), else ``None``.
    ``box``: ``(x, y, w, h)``, ``None`` when lost or when a mask tracker's mask is empty.
    ``score``: the tracker's ``object_presence_score`` (``None`` when it gives none).
    ``lost``: the score is below the parameter set's ``presence_threshold``.
    """

    mask: np.ndarray | None
    box: Box | None
    score: float | None
    lost: bool


@dataclass(frozen=True)
class TrackingResult(Mapping):
    """The objects of one frame by id (a read-only mapping ``obj_id -> ObjectResult``)."""

    frame_index: int
    objects: dict[int, ObjectResult] = field(default_factory=dict)

    def __getitem__(self, obj_id: int) -> ObjectResult:
        return self.objects[obj_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def label_map(self, shape: tuple[int, int] | None = None) -> np.ndarray | None:
        """``(H, W)`` uint8 label image (object id per pixel, 0 = background), ``None`` without masks."""
        masks = [(oid, r.mask) for oid, r in self.objects.items() if r.mask is not None]
        if not masks:
            return None if shape is None else np.zeros(shape, np.uint8)
        label = np.zeros(masks[0][1].shape, np.uint8)
        for oid, mask in masks:
            label[mask] = oid
        return label


def _per_object(value: Any, key: str) -> Any:
    """``value[key]`` for per-object dicts (multi-object outputs), ``None`` when absent."""
    if isinstance(value, Mapping):
        return value.get(key)
    return None


def is_lost(score: float | None, threshold: float) -> bool:
    """Lost when the tracker gives a presence score below ``threshold``; trackers without one never are."""
    return score is not None and score < threshold


def object_result(
    output: Mapping[str, Any], obj_id: int, predicts_mask: bool, shape: tuple[int, int], threshold: float
) -> ObjectResult:
    """The :class:`ObjectResult` of ``obj_id`` in a merged multi-object tracker output."""
    key = str(obj_id)
    raw_score = _per_object(output.get("object_presence_score"), key)
    score = None if raw_score is None else float(raw_score)
    if is_lost(score, threshold):
        # a lost object is reported absent rather than as the tracker's guess (docs/api.md, lost)
        return ObjectResult(np.zeros(shape, bool) if predicts_mask else None, None, score, True)
    mask = None
    if predicts_mask:
        label = output.get("segmentation")
        mask = np.zeros(shape, bool) if label is None else np.asarray(label) == obj_id
    raw_box = _per_object(output.get("target_bbox"), key)
    box = None if raw_box is None else tuple(float(v) for v in raw_box)
    if mask is not None and not mask.any():
        box = None  # the merge's placeholder box [0, 0, 1, 1] of an empty mask is no place
    return ObjectResult(mask, box, score, False)
