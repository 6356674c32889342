"""``track_video``: a generator over any frame source, objects given per frame (docs/api.md)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import TrackerInputError
from .frames import FrameInput, iter_frames
from .results import TrackingResult
from .tracker import VideoTracker

#: One object's start: a mask ``(H, W)``, a box ``(x, y, w, h)``, or ``{"mask": ..., "box": ...}``.
ObjectInit = np.ndarray | Sequence[float] | Mapping[str, Any]
#: The objects of one frame: a label image (ids = its values), a box, a list of boxes (ids 1, 2, ...),
#: or ``{obj_id: ObjectInit}``.
FrameObjects = np.ndarray | Sequence[float] | Sequence[Sequence[float]] | Mapping[int, ObjectInit]


def _is_box(value: Any) -> bool:
    return (
        not isinstance(value, (np.ndarray, Mapping, str))
        and isinstance(value, Sequence)
        and len(value) == 4
        and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in value)
    )


def _region(value: Any, where: str) -> dict[str, Any]:
    """``add_object`` keywords of one :data:`ObjectInit`."""
    if isinstance(value, Mapping):
        unknown = set(value) - {"mask", "box"}
        if unknown:
            raise TrackerInputError(f"{where}: unknown keys {sorted(unknown)} (use 'mask' and/or 'box')")
        return {"mask": value.get("mask"), "box": value.get("box")}
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return {"mask": value}
    if _is_box(value):
        return {"box": value}
    kind = type(value).__name__
    raise TrackerInputError(f"{where}: expected an (H, W) mask, an (x, y, w, h) box or a dict, got {kind}")


def frame_objects(objects: FrameObjects | None, where: str = "init") -> dict[int, dict[str, Any]]:
    """``{obj_id: add_object keywords}`` of one frame's :data:`FrameObjects`."""
    if objects is None:
        return {}
    if isinstance(objects, np.ndarray) and objects.ndim == 2:
        ids = [int(v) for v in np.unique(objects) if v != 0]
        if not ids:
            raise TrackerInputError(f"{where}: the label image has no object (all pixels are 0)")
        return {oid: {"mask": objects == oid} for oid in ids}
    if isinstance(objects, Mapping):
        return {oid: _region(value, f"{where}[{oid!r}]") for oid, value in objects.items()}
    if _is_box(objects):
        return {1: {"box": objects}}
    if isinstance(objects, Sequence) and objects and all(_is_box(b) for b in objects):
        return {i + 1: {"box": b} for i, b in enumerate(objects)}
    raise TrackerInputError(
        f"{where}: expected a label image, a box, a list of boxes or {{obj_id: mask or box}}, "
        f"got {type(objects).__name__}"
    )


def track_video(
    frames: FrameInput,
    init: FrameObjects,
    tracker: str | VideoTracker = "rts",
    parameters: str = "rts_small",
    *,
    later: Mapping[int, FrameObjects] | None = None,
    **overrides: Any,
) -> Iterator[TrackingResult]:
    """Yield one :class:`TrackingResult` per frame of ``frames`` (a path, folder, list or generator).

    ``init`` gives the objects of the first frame; ``later`` maps a frame index to objects that
    start on that frame. Frames are read one at a time and nothing is kept per frame.
    """
    video_tracker = tracker if isinstance(tracker, VideoTracker) else VideoTracker(tracker, parameters, **overrides)
    first = frame_objects(init, "init")
    if not first:
        raise TrackerInputError("init: give at least one object for the first frame")
    starts = {int(index): frame_objects(objects, f"later[{index}]") for index, objects in (later or {}).items()}
    starts[0] = first
    for index, frame in enumerate(iter_frames(frames)):
        for oid, region in starts.pop(index, {}).items():
            video_tracker.add_object(frame, obj_id=oid, **region)
        yield video_tracker.track(frame)
