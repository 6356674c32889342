"""``VideoTracker``: any registered tracker, several objects added and removed at any frame (docs/api.md).

The tracker is driven through the multi-object contract of docs/conventions.md (``initialize`` /
``track`` with ``init_object_ids``, ``object_ids`` and ``previous_output``): 'parallel' trackers run
behind :class:`~pytracking_ext.trackers.multiobject.MultiObjectWrapper`, 'default' ones take the
objects themselves (:func:`~pytracking_ext.evaluation.running.build_tracker` decides). Only the
last frame's output and one copy of the last frame are kept, so memory does not depend on the
number of frames tracked (docs/api.md, long videos).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import TrackerInputError, UnknownNameError
from ..evaluation.tracker_factory import build_tracker
from ..evaluation.tracker_spec import TrackerSpec
from ..overrides import check_overrides
from ..trackers import TrackerParams, get_parameters
from ..utils.boxes import mask_to_bbox, validate_init_box
from .frames import check_frame
from .results import DEFAULT_PRESENCE_THRESHOLD, ObjectResult, TrackingResult, object_result

#: Settings the API reads that a parameter set need not declare (name -> default).
API_SETTINGS: dict[str, Any] = {"presence_threshold": DEFAULT_PRESENCE_THRESHOLD, "device": None}
#: Object ids are label values of a uint8 label image (0 is the background).
MAX_OBJECT_ID = 255


def tracker_parameters(
    tracker_name: str, parameters: str | TrackerParams, overrides: Mapping[str, Any], source: str = "VideoTracker"
) -> TrackerParams:
    """The parameter set (a name, or a ready :class:`TrackerParams`) with ``overrides`` checked and applied."""
    params = get_parameters(tracker_name, parameters) if isinstance(parameters, str) else parameters
    fields = {**API_SETTINGS, **{k: v for k, v in vars(params).items() if not k.startswith("_")}}
    owner = f"{tracker_name}/{getattr(params, 'param_name', 'parameters')}"
    check_overrides(overrides.items(), fields, owner=owner, source=source)
    for key, value in overrides.items():
        setattr(params, key, value)
    return params


def _object_id(key: Any) -> int:
    """A contract object id (a label value as a string, e.g. ``'3'``) as the API's int id."""
    try:
        return int(key)
    except (TypeError, ValueError):
        raise TrackerInputError(f"start_objects: object id {key!r} is not a label value 1..{MAX_OBJECT_ID}") from None


def _timed(out: dict[str, Any] | None, started: float) -> dict[str, Any]:
    """``out`` with the seconds since ``started`` as its ``time`` unless the tracker timed itself
    (PyTracking's contract: every frame's output, and so the next ``previous_output``, has one)."""
    out = dict(out or {})
    out.setdefault("time", time.perf_counter() - started)
    return out


def _with_init_defaults(out: dict[str, Any] | None, info: Mapping[str, Any]) -> dict[str, Any]:
    """A tracker's ``initialize`` output with the given box and mask where it returned none (the
    init frame's result is the annotation; a tracker may return nothing on that frame)."""
    out = dict(out or {})
    out.setdefault("target_bbox", info.get("init_bbox"))
    if "segmentation" not in out and info.get("init_mask") is not None:
        out["segmentation"] = info["init_mask"]
    return out


class VideoTracker:
    """Track objects through a stream of frames (``(H, W, 3)`` uint8 RGB arrays).

    >>> tracker = VideoTracker("rts", "rts_small")
    >>> obj = tracker.add_object(frame0, mask=mask)      # or box=(x, y, w, h)
    >>> result = tracker.track(frame1)                   # result[obj].mask / .box / .score / .lost
    """

    def __init__(self, tracker_name: str, parameter_name: str | TrackerParams, **overrides: Any) -> None:
        params = tracker_parameters(tracker_name, parameter_name, overrides)
        spec = TrackerSpec(tracker_name, getattr(params, "param_name", "custom"))
        self._setup(build_tracker(spec, multiobject=True, params=params), params)

    @classmethod
    def from_tracker(cls, tracker: Any, multiobject: bool = True, load_networks: bool = True) -> VideoTracker:
        """Drive an already built tracker: a multi-object one (a wrapper or a 'default' mode tracker),
        or with ``multiobject=False`` a single-object one given PyTracking's single-object protocol
        (``init_bbox`` / ``init_mask``, then ``previous_output``), one object at a time.
        ``load_networks=False`` when the caller has loaded them already."""
        self = cls.__new__(cls)
        self._setup(tracker, getattr(tracker, "params", None) or TrackerParams(), multiobject, load_networks)
        return self

    def _setup(self, tracker: Any, params: TrackerParams, multiobject: bool = True, load_networks: bool = True) -> None:
        self._multi = multiobject
        self.params = params
        self._tracker = tracker
        if load_networks:
            self._tracker.initialize_features()  # networks load here, not on the first frame
        self.predicts_mask: bool = bool(tracker.predicts_segmentation_mask())
        self.presence_threshold = float(params.get("presence_threshold", DEFAULT_PRESENCE_THRESHOLD))
        self._forget()

    def _forget(self) -> None:
        self._ids: list[int] = []
        self._shape: tuple[int, int] | None = None
        self._frame_index = -1
        self._previous: dict[str, Any] = {}
        self._frame: np.ndarray | None = None  # the last frame given (a reference) ...
        self._frame_copy: np.ndarray | None = None  # ... and its content then (a reused buffer changes)
        self._replay: TrackingResult | None = None  # the result of a frame add_object processed

    # ----- public ----------------------------------------------------------------------------
    @property
    def object_ids(self) -> list[int]:
        """The ids of the objects being tracked, in the order they were added."""
        return list(self._ids)

    @property
    def tracker(self) -> Any:
        """The multi-object tracker driven (for debug views; its contract is docs/conventions.md)."""
        return self._tracker

    @property
    def last_output(self) -> dict[str, Any]:
        """The tracker's own output of the last frame (its contract's keys, before the lost rule); read only."""
        return self._previous

    @property
    def frame_index(self) -> int:
        """Index of the last frame processed (``-1`` before the first)."""
        return self._frame_index

    def add_object(
        self,
        frame: np.ndarray,
        mask: np.ndarray | None = None,
        box: Sequence[float] | None = None,
        obj_id: int | None = None,
    ) -> int:
        """Start tracking an object given by ``mask`` and/or ``box`` ``(x, y, w, h)`` on ``frame``; returns its id.

        ``frame`` is the frame the annotation belongs to. When it is the frame just processed (the
        same array, unchanged) the object joins that frame; otherwise ``frame`` is processed as the
        next frame (the other objects are tracked on it) and a following ``track`` of that same
        array returns that frame's result instead of tracking it twice. ``obj_id`` (1..255) defaults
        to the smallest free id.
        """
        frame = check_frame(frame, "add_object: frame")
        if not self._multi and self._ids:
            raise TrackerInputError(f"add_object: this tracker follows one object; remove object {self._ids[0]} first")
        oid = self._new_id(obj_id)
        info = self._init_info(frame.shape[:2], oid, mask, box)
        self._start(frame, self._single_info(info) if not self._multi else info, [oid], "add_object")
        return oid

    def start_objects(self, frame: np.ndarray, info: Mapping[str, Any]) -> list[int]:
        """Start the objects of a tracker-contract ``info`` on ``frame``, passed to the tracker unchanged.

        ``info`` is what a dataset gives for a frame where objects start (docs/conventions.md):
        ``init_object_ids`` with ``init_bbox`` per object and/or ``init_mask`` as a label image for a
        multi-object tracker, ``init_bbox`` / ``init_mask`` for a single-object one. Several objects
        start at once (trackers that take all objects together need that); otherwise this is
        :meth:`add_object` (the frame joins or becomes the next frame). Returns the new ids.
        """
        frame = check_frame(frame, "start_objects: frame")
        info = dict(info)
        if self._multi:
            new_ids = [self._new_id(_object_id(key)) for key in info.get("init_object_ids") or []]
        else:
            if self._ids:
                raise TrackerInputError(f"start_objects: this tracker follows one object; remove {self._ids[0]} first")
            new_ids = [self._new_id(None)]
        if len(set(new_ids)) != len(new_ids):
            raise TrackerInputError(f"start_objects: init_object_ids repeats an id: {info.get('init_object_ids')}")
        self._start(frame, info, new_ids, "start_objects")
        return new_ids

    def track(self, frame: np.ndarray) -> TrackingResult:
        """Track every object on the next ``frame``; one :class:`ObjectResult` per object id."""
        frame = check_frame(frame, f"track: frame {self._frame_index + 1}")
        replay, self._replay = self._replay, None
        if replay is not None and self._is_current(frame):
            return replay
        self._check_shape(frame, "track")
        if not self._ids:
            return self._finish(frame, {}, new_frame=True)
        info: dict[str, Any] = {"previous_output": OrderedDict(self._previous)}
        if self._multi:
            info["object_ids"] = [str(i) for i in self._ids]
        started = time.perf_counter()
        return self._finish(frame, _timed(self._tracker.track(frame, info), started), new_frame=True)

    def remove_object(self, obj_id: int) -> None:
        """Stop tracking ``obj_id`` (it is absent from the next result on)."""
        if obj_id not in self._ids:
            raise UnknownNameError(f"remove_object: unknown object id {obj_id!r}; tracked: {self._ids or '(none)'}")
        self._ids.remove(obj_id)
        remover = getattr(self._tracker, "remove_object", None) if self._multi else None
        if remover is not None:
            remover(str(obj_id))
        if self._replay is not None:
            kept = {k: v for k, v in self._replay.objects.items() if k != obj_id}
            self._replay = TrackingResult(self._replay.frame_index, kept)

    def reset(self) -> None:
        """Forget every object and frame (a new video may start, of any size); networks stay loaded."""
        for oid in list(self._ids):
            self.remove_object(oid)
        self._forget()

    # ----- helpers ---------------------------------------------------------------------------
    def _new_id(self, obj_id: int | None) -> int:
        if obj_id is None:
            free = next((i for i in range(1, MAX_OBJECT_ID + 1) if i not in self._ids), None)
            if free is None:
                raise TrackerInputError(f"add_object: {MAX_OBJECT_ID} objects are tracked already")
            return free
        if isinstance(obj_id, bool) or not isinstance(obj_id, (int, np.integer)) or not 1 <= obj_id <= MAX_OBJECT_ID:
            raise TrackerInputError(f"add_object: obj_id must be an integer 1..{MAX_OBJECT_ID}, got {obj_id!r}")
        if int(obj_id) in self._ids:
            raise TrackerInputError(f"add_object: object {obj_id} is already tracked; remove it first")
        return int(obj_id)

    def _init_info(self, shape: tuple[int, int], oid: int, mask: Any, box: Any) -> dict[str, Any]:
        """The ``initialize`` info of one new object (mask as a label image, box as ``[x, y, w, h]``)."""
        if mask is None and box is None:
            raise TrackerInputError(f"add_object: object {oid}: give mask=(H, W) array or box=(x, y, w, h)")
        info: dict[str, Any] = {"init_object_ids": [str(oid)]}
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != shape:
                raise TrackerInputError(
                    f"add_object: object {oid}: mask shape {mask.shape} differs from the frame {shape}"
                )
            mask = mask > 0
            if not mask.any():
                raise TrackerInputError(f"add_object: object {oid}: the mask is empty")
            label = np.zeros(shape, np.uint8)
            label[mask] = oid
            info["init_mask"] = label
        if box is not None:
            try:
                box = validate_init_box(list(box), shape)
            except (TypeError, TrackerInputError) as err:
                raise TrackerInputError(f"add_object: object {oid}: box {box!r}: {err}") from None
        info["init_bbox"] = {str(oid): box if box is not None else mask_to_bbox(mask)}
        return info

    def _start(self, frame: np.ndarray, info: dict[str, Any], new_ids: list[int], where: str) -> None:
        """Give ``info`` (the objects ``new_ids`` starting) to the tracker on ``frame``; keep the result."""
        current = self._is_current(frame)
        if not current:
            self._check_shape(frame, where)
        started = time.perf_counter()
        if not self._ids:
            out = _with_init_defaults(self._tracker.initialize(frame, info), info)
        elif current:
            adder = getattr(self._tracker, "add_objects", None)
            if adder is None:
                raise TrackerInputError(
                    f"{where}: {type(self._tracker).__name__} cannot add an object to the frame already "
                    "tracked; add it on the next frame"
                )
            out = adder(frame, info)
        else:
            ids = [str(i) for i in [*self._ids, *new_ids]]
            # the info's own keys win: a dataset's object_ids list (all of the sequence's) reaches
            # the tracker as it would without the API
            previous = OrderedDict(self._previous)
            out = self._tracker.track(frame, {"object_ids": ids, **info, "previous_output": previous})
        out = _timed(out, started)
        self._ids.extend(new_ids)
        result = self._finish(frame, out, new_frame=not current)
        if not current or self._replay is not None:
            self._replay = result

    @staticmethod
    def _single_info(info: dict[str, Any]) -> dict[str, Any]:
        """A one-object multi-object ``info`` in the single-object protocol (``init_bbox``, binary ``init_mask``)."""
        (key,) = info["init_object_ids"]
        label = info.get("init_mask")
        mask = None if label is None else (label > 0).astype(np.uint8)
        return {"init_bbox": info["init_bbox"][key], "init_mask": mask}

    def _as_multi(self, out: dict[str, Any]) -> dict[str, Any]:
        """A single-object output in the multi-object form the results read (per-object dicts, label ids)."""
        if self._multi or not self._ids:
            return out
        key, oid = str(self._ids[0]), self._ids[0]
        view: dict[str, Any] = {k: {key: out[k]} for k in ("target_bbox", "object_presence_score") if k in out}
        if out.get("segmentation") is not None:
            view["segmentation"] = np.where(np.asarray(out["segmentation"]) != 0, oid, 0)
        return view

    def _is_current(self, frame: np.ndarray) -> bool:
        return (
            self._frame is not None
            and frame is self._frame
            and self._frame_copy is not None
            and np.array_equal(frame, self._frame_copy)
        )

    def _check_shape(self, frame: np.ndarray, where: str) -> None:
        if self._shape is not None and frame.shape[:2] != self._shape:
            raise TrackerInputError(
                f"{where}: frame size {frame.shape[1]}x{frame.shape[0]} differs from the video's "
                f"{self._shape[1]}x{self._shape[0]}; call reset() to start another video"
            )
        self._shape = frame.shape[:2]

    def _finish(self, frame: np.ndarray, out: dict[str, Any] | None, new_frame: bool) -> TrackingResult:
        """Keep ``out`` as the next frame's ``previous_output`` and build the public result."""
        out = dict(out or {})
        if new_frame:
            self._frame_index += 1
            if self._frame_copy is None or self._frame_copy.shape != frame.shape:
                self._frame_copy = np.empty_like(frame)
            np.copyto(self._frame_copy, frame)
            self._frame = frame
        self._previous = out
        shape, view = frame.shape[:2], self._as_multi(out)
        objects: dict[int, ObjectResult] = {
            oid: object_result(view, oid, self.predicts_mask, shape, self.presence_threshold) for oid in self._ids
        }
        return TrackingResult(self._frame_index, objects)
