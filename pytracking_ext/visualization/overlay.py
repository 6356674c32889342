"""Draw boxes and masks on frames and write them to a video file, without any display."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..utils.io import DAVIS_PALETTE


def _color(object_id: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in DAVIS_PALETTE[object_id % 255 or 1])


def _draw_contour(canvas: np.ndarray, region: np.ndarray, color: tuple[int, int, int], thickness: int) -> None:
    """Outline ``region`` in ``color`` over a black line: a tint alone vanishes on an object of the
    same colour (a red tint on a red car, issue 20 item 9); the dark edge keeps the outline visible."""
    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(canvas, contours, -1, (0, 0, 0), thickness + 2)
    cv2.drawContours(canvas, contours, -1, color, thickness)


def draw_overlay(
    image: np.ndarray, boxes: Any = None, mask: np.ndarray | None = None, alpha: float = 0.5, thickness: int = 2
) -> np.ndarray:
    """RGB frame with the label ``mask`` blended in and outlined, and ``boxes`` drawn, in each object's
    palette colour (DAVIS palette: object 1 red, 2 green, 3 yellow, ...).

    ``boxes`` is one ``[x, y, w, h]`` (object 1) or a mapping object id -> box; ``mask`` is a label
    image (0 = background, ids > 0) or a binary mask.
    """
    canvas = image.astype(np.float32).copy()
    regions: list[tuple[int, np.ndarray]] = []
    if mask is not None:
        mask = np.asarray(mask)
        for object_id in np.unique(mask):
            if object_id == 0:
                continue
            region = mask == object_id
            regions.append((int(object_id), region))
            canvas[region] = (1 - alpha) * canvas[region] + alpha * np.array(_color(int(object_id)), np.float32)
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    for object_id, region in regions:
        _draw_contour(canvas, region, _color(object_id), thickness)
    if boxes is None:
        return canvas
    items = boxes.items() if isinstance(boxes, Mapping) else [(1, boxes)]
    for object_id, box in items:
        if box is None or not np.all(np.isfinite(box)):
            continue
        x, y, w, h = (int(round(float(v))) for v in box)
        cv2.rectangle(canvas, (x, y), (x + max(w - 1, 0), y + max(h - 1, 0)), _color(int(object_id)), thickness)
    return canvas


class VideoSink:
    """Writes RGB frames to an MP4 file; the file appears under its name only when closed cleanly."""

    def __init__(self, path: str | os.PathLike, fps: float = 15.0) -> None:
        self.path = Path(path)
        self.fps = fps
        self._tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._writer: cv2.VideoWriter | None = None
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
            if not self._writer.isOpened():
                raise OSError(f"{self.path}: OpenCV cannot open an MP4 writer (codec mp4v unavailable)")
        self._writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
        self.frames += 1

    def close(self, keep: bool = True) -> None:
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if keep:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(keep=exc_type is None)
