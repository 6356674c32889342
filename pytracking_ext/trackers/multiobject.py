"""Run one single-object tracker per object and merge their outputs into one label image.

Behaviour follows PyTracking's 'parallel' mode: every tracker instance shares the same ``params``
(and so the same loaded network), objects may start on any frame (``init_object_ids``), and the
per-object outputs are merged by the tracker class's ``merge_results`` when it defines one, else by
:func:`default_merge` (argmax of the per-object maps above ``segmentation_threshold``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ..utils.boxes import mask_to_bbox
from .base import BaseTracker
from .params import TrackerParams


def default_merge(outputs: OrderedDict[str, dict], threshold: float = 0.5) -> dict[str, Any]:
    """Merge per-object outputs: label = argmax + 1 where the best map exceeds ``threshold``."""
    merged: dict[str, Any] = {}
    maps = [(oid, out.get("segmentation_soft", out.get("segmentation"))) for oid, out in outputs.items()]
    maps = [(oid, m) for oid, m in maps if m is not None]
    if maps:
        ids = np.array([0] + [int(oid) for oid, _ in maps], dtype=np.uint8)
        stack = np.stack([np.asarray(m, dtype=np.float32) for _, m in maps])
        best = stack.argmax(axis=0)
        label = np.where(stack.max(axis=0) > threshold, best + 1, 0)
        merged["segmentation"] = ids[label]
    keys = {k for out in outputs.values() for k in out if k not in ("segmentation", "segmentation_soft")}
    for key in keys:
        merged[key] = OrderedDict((oid, out[key]) for oid, out in outputs.items() if key in out)
    return merged


def boxes_from_labels(label: np.ndarray, object_ids: list[str]) -> OrderedDict[str, list[float]]:
    """Per-object tight boxes of a merged label image (``[0, 0, 1, 1]`` for an absent object)."""
    return OrderedDict((oid, mask_to_bbox(label == int(oid))) for oid in object_ids)


class MultiObjectWrapper:
    """Presents several single-object trackers as one multi-object tracker."""

    def __init__(
        self, tracker_class: type[BaseTracker], params: TrackerParams, factory: Callable[[], BaseTracker] | None = None
    ) -> None:
        self.tracker_class = tracker_class
        self.params = params
        self._factory = factory or (lambda: tracker_class(params))
        self.trackers: OrderedDict[str, BaseTracker] = OrderedDict()
        self.debug_views = None
        # Each object's own output of the last frame (one frame, replaced every frame): what
        # add_objects merges a late object with (docs/api.md, objects added on the current frame).
        self.object_outputs: OrderedDict[str, dict] = OrderedDict()
        # One instance answers class-level questions and loads the shared networks early.
        self._probe = self._factory()
        self._predicts_mask = self._probe.predicts_segmentation_mask()
        self._merge = getattr(self._probe, "merge_results", None)

    def predicts_segmentation_mask(self) -> bool:
        return self._predicts_mask

    def initialize_features(self) -> None:
        """Load the networks once; the per-object instances share them through ``params``."""
        self._probe.initialize_features()
        for tracker in self.trackers.values():
            tracker.initialize_features()

    def initialize(self, image: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        self.trackers = OrderedDict()
        self.object_outputs = OrderedDict()
        if not info.get("init_object_ids"):
            return {}
        return self._start_objects(image, info, OrderedDict())

    def track(self, image: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        outputs: OrderedDict[str, dict] = OrderedDict()
        for oid, tracker in self.trackers.items():
            start = time.perf_counter()
            out = dict(tracker.track(image, info) or {})
            out.setdefault("time", time.perf_counter() - start)
            outputs[oid] = out
        if info.get("init_object_ids"):
            return self._start_objects(image, info, outputs)
        return self._merge_outputs(outputs)

    # ----- objects added and removed while tracking (driven by pytracking_ext.api.VideoTracker) ----
    def remove_object(self, object_id: str) -> None:
        """Stop tracking ``object_id`` (from the next frame on)."""
        self.trackers.pop(str(object_id), None)
        self.object_outputs.pop(str(object_id), None)

    def add_objects(self, image: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        """Start ``info['init_object_ids']`` on ``image``, the frame tracked last, without tracking the others again.

        Returns the merged output of that frame with the new objects in it.
        """
        return self._start_objects(image, info, OrderedDict(self.object_outputs))

    def _start_objects(
        self, image: np.ndarray, info: dict[str, Any], outputs: OrderedDict[str, dict]
    ) -> dict[str, Any]:
        boxes = info.get("init_bbox") or {}
        label = info.get("init_mask")
        for oid in info["init_object_ids"]:
            obj_info: dict[str, Any] = {"object_ids": [oid], "sequence_object_ids": info.get("sequence_object_ids")}
            mask = None if label is None else (np.asarray(label) == int(oid)).astype(np.uint8)
            box = boxes.get(oid) if isinstance(boxes, dict) else None
            if mask is not None and (mask.any() or box is None):  # a box alone starts box-only objects
                obj_info["init_mask"] = mask
                obj_info["init_bbox"] = box if box is not None else mask_to_bbox(obj_info["init_mask"])
            else:
                obj_info["init_bbox"] = box
            tracker = self._factory()
            tracker.debug_views = self.debug_views
            start = time.perf_counter()
            out = dict(tracker.initialize(image, obj_info) or {})
            out.setdefault("time", time.perf_counter() - start)
            out.setdefault("target_bbox", obj_info["init_bbox"])
            if "init_mask" in obj_info:
                out.setdefault("segmentation", obj_info["init_mask"])
            self.trackers[oid] = tracker
            outputs[oid] = out
        return self._merge_outputs(outputs)

    def _merge_outputs(self, outputs: OrderedDict[str, dict]) -> dict[str, Any]:
        self.object_outputs = outputs
        if self._merge is not None:
            return self._merge(outputs)
        return default_merge(outputs, self.params.get("segmentation_threshold", 0.5))


def object_trackers(tracker: Any) -> list:
    """The single-object trackers behind ``tracker``: each object's, in start order, for a
    :class:`MultiObjectWrapper` (or any tracker holding them in a ``trackers`` dict); else
    ``[tracker]``. What per-object state (RTS's diagnostics, its crops) is read from: the wrapper's
    merged output keeps only what the result files need."""
    inner = getattr(tracker, "trackers", None)
    return list(inner.values()) if isinstance(inner, dict) else [tracker]
