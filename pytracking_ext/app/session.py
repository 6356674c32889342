"""What the user picked in the page, and the page's actions on it, without any web framework.

A :class:`Selection` holds the opened video's first frame and the objects marked on it: each object
has a box (two clicks on opposite corners) or points (clicks on the object; their bounding box,
padded to at least :data:`MIN_POINT_BOX` pixels, starts the tracker). Object ``k`` is drawn in
DAVIS palette colour ``k`` in the page and in the overlay video, as ``run_video`` draws it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import PytrackingError
from ..evaluation.tracker_spec import TrackerSpec
from ..utils.io import DAVIS_PALETTE
from ..visualization import draw_overlay
from .media import VideoInfo, iter_frames, open_video
from .tracking import JobResult, run_tracking_job

#: Smallest side of a box made from clicked points (one point alone makes a square of this side).
MIN_POINT_BOX = 24


@dataclass
class PickedObject:
    """One object: a box ``[x, y, w, h]`` or clicked points ``[(x, y), ...]``."""

    box: list[float] | None = None
    points: list[tuple[float, float]] = field(default_factory=list)

    def init_box(self, shape: tuple[int, int]) -> list[float] | None:
        """The box that starts the tracker: the drawn box, or the padded bounding box of the points."""
        if self.box is not None:
            return list(self.box)
        if not self.points:
            return None
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        h, w = shape
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        bw, bh = max(max(xs) - min(xs), MIN_POINT_BOX), max(max(ys) - min(ys), MIN_POINT_BOX)
        x0, y0 = min(max(cx - bw / 2, 0.0), max(w - bw, 0.0)), min(max(cy - bh / 2, 0.0), max(h - bh, 0.0))
        return [float(x0), float(y0), float(min(bw, w)), float(min(bh, h))]


@dataclass
class Selection:
    """The page's state for one browser session."""

    video: VideoInfo | None = None
    objects: list[PickedObject] = field(default_factory=lambda: [PickedObject()])
    corner: tuple[float, float] | None = None  # first corner of a box being drawn

    @property
    def current(self) -> PickedObject:
        return self.objects[-1]

    def open(self, path: str | Path, max_mb: float) -> str:
        """Open a video; forget the objects of the previous one. Returns the page's message."""
        self.video = open_video(path, max_mb)
        self.objects = [PickedObject()]
        self.corner = None
        h, w = self.video.first_frame.shape[:2]
        count = f"{self.video.num_frames} frames" if self.video.num_frames else "frame count unknown"
        return f"Opened {self.video.path.name} ({w}x{h}, {count}). Click two opposite corners of the object."

    def click(self, x: float, y: float, mode: str) -> str:
        """A click on the first frame: a box corner (``mode='box'``) or a point (``'points'``)."""
        if self.video is None:
            return "Open a video first."
        obj = self.current
        number = len(self.objects)
        if mode == "points":
            obj.box = None
            obj.points.append((float(x), float(y)))
            return f"Object {number}: {len(obj.points)} point(s)."
        if self.corner is None:
            self.corner = (float(x), float(y))
            return f"Object {number}: now click the opposite corner."
        (x0, y0), self.corner = self.corner, None
        obj.points = []
        obj.box = [min(x0, x), min(y0, y), abs(x - x0), abs(y - y0)]
        return f"Object {number}: box {', '.join(f'{v:g}' for v in obj.box)}."

    def add_object(self) -> str:
        """Start the next object (the current one must have a box or points)."""
        if self.video is None:
            return "Open a video first."
        if self.current.init_box(self.first_frame_shape) is None:
            return f"Object {len(self.objects)} has no box or points yet."
        self.objects.append(PickedObject())
        self.corner = None
        return f"Object {len(self.objects)}: click two opposite corners (or points)."

    def clear(self) -> str:
        self.objects = [PickedObject()]
        self.corner = None
        return "Objects cleared."

    @property
    def first_frame_shape(self) -> tuple[int, int]:
        assert self.video is not None
        return self.video.first_frame.shape[:2]

    def init_boxes(self) -> list[list[float]]:
        """The boxes of every object that has one, in order (object ids 1, 2, ...)."""
        if self.video is None:
            return []
        boxes = [obj.init_box(self.first_frame_shape) for obj in self.objects]
        return [b for b in boxes if b is not None]

    def annotated_first_frame(self) -> np.ndarray | None:
        """The first frame with every object's box, points and a pending corner in its colour."""
        if self.video is None:
            return None
        boxes = {i + 1: b for i, b in enumerate(obj.init_box(self.first_frame_shape) for obj in self.objects) if b}
        canvas = draw_overlay(self.video.first_frame, boxes or None)
        for i, obj in enumerate(self.objects):
            colour = tuple(int(c) for c in DAVIS_PALETTE[(i + 1) % 255 or 1])
            for x, y in obj.points:
                cv2.circle(canvas, (int(round(x)), int(round(y))), 4, colour, -1)
        if self.corner is not None:
            colour = tuple(int(c) for c in DAVIS_PALETTE[len(self.objects) % 255 or 1])
            cv2.drawMarker(canvas, tuple(int(round(v)) for v in self.corner), colour, cv2.MARKER_CROSS, 12, 2)
        return canvas

    def track(
        self,
        tracker: str,
        param: str,
        work_root: Path | None = None,
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> JobResult:
        """Track every picked object through the video; outputs go to a fresh job folder."""
        if self.video is None:
            raise PytrackingError("open a video first")
        boxes = self.init_boxes()
        if not boxes:
            raise PytrackingError("mark the object first: click two opposite corners of it (or points on it)")
        folder = Path(tempfile.mkdtemp(prefix="job-", dir=work_root))
        return run_tracking_job(
            TrackerSpec(tracker, param),
            iter_frames(self.video.path),
            boxes,
            folder,
            total=self.video.num_frames,
            on_progress=on_progress,
        )
