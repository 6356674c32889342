"""Track the objects picked in the web page through one video, and package the results.

:func:`track_video` is the page's whole use of the trackers: frames and initial boxes (or a label
mask) in, one :class:`FrameResult` per frame out. It drives the tracker through the public
API (:class:`pytracking_ext.VideoTracker`) exactly as ``run_video`` does, so the page's boxes equal
``run_video``'s on the same input (checked by the browser test).
:func:`run_tracking_job` writes what ``run_video`` writes (``boxes*.txt``, ``time.txt``,
``masks/``, ``overlay.mp4``) plus a browser-playable ``overlay.webm`` and the download zip.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import PytrackingError
from ..evaluation.results import TrackingOutput
from ..evaluation.tracker_spec import TrackerSpec
from ..run_video import initial_objects, objects_to_add, tracked_frames, write_outputs
from ..utils.io import atomic_open, imwrite_indexed
from ..visualization import VideoSink, draw_overlay

Frame = tuple[int, str, np.ndarray]


@dataclass
class FrameResult:
    """One tracked frame: boxes (one box, or object id -> box), the label mask if any, the overlay."""

    index: int
    name: str
    boxes: Any
    mask: np.ndarray | None
    overlay: np.ndarray
    time: Any


def track_video(
    spec: TrackerSpec,
    frames: Iterable[Frame],
    init_boxes: list[list[float]],
    init_mask: np.ndarray | None = None,
) -> Iterator[FrameResult]:
    """Track the objects given by ``init_boxes`` (and/or a label ``init_mask``) through ``frames``.

    ``frames`` yields ``(index, name, RGB image)`` from index 0. Yields one :class:`FrameResult` per
    frame as soon as it is tracked; stopping the iteration stops the tracking. Driven through the
    public API exactly as ``run_video`` drives it (a lost object has no box and an empty mask).
    """
    from ..api import VideoTracker

    info0, ids = initial_objects(init_boxes, None)
    if init_mask is not None:
        info0 = _with_mask(info0, ids, init_mask)
    objects = objects_to_add(info0, ids)
    tracker = VideoTracker(spec.name, spec.param)
    for frame in tracked_frames(tracker, frames, objects, ids):
        overlay = draw_overlay(frame.image, frame.found, frame.label)
        yield FrameResult(frame.index, frame.name, frame.boxes, frame.mask, overlay, frame.time)


def _with_mask(info: dict[str, Any], ids: list[str], mask: np.ndarray) -> dict[str, Any]:
    """Add a label mask (object ``k`` = pixels of value ``k``) to the init info of boxes ``ids``."""
    mask = np.asarray(mask).astype(np.uint8)
    info = dict(info)
    info["init_mask"] = (mask > 0).astype(np.uint8) if len(ids) == 1 else mask
    return info


@dataclass
class JobResult:
    """What a finished job left in its folder."""

    folder: Path
    frames: int
    zip_path: Path
    preview: Path | None
    boxes: list[Any]


def run_tracking_job(
    spec: TrackerSpec,
    frames: Iterable[Frame],
    init_boxes: list[list[float]],
    out_dir: Path,
    total: int | None = None,
    fps: float = 15.0,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> JobResult:
    """Track, write ``run_video``'s outputs into ``out_dir``, a preview ``overlay.webm`` and ``results.zip``.

    ``on_progress(done, total)`` is called after every frame.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _, ids = initial_objects(init_boxes, None)
    collected = TrackingOutput()
    collected_ids = ids
    sink = VideoSink(out_dir / "overlay.mp4", fps=fps)
    preview = PreviewSink(out_dir / "overlay.webm", fps=fps)
    try:
        for result in track_video(spec, frames, init_boxes):
            if result.mask is not None:
                imwrite_indexed(out_dir / "masks" / f"{Path(result.name).stem}.png", result.mask)
            sink.write(result.overlay)
            preview.write(result.overlay)
            collected.target_bbox.append(result.boxes)
            collected.time.append(result.time)
            if on_progress is not None:
                on_progress(len(collected.target_bbox), total)
    finally:
        sink.close(keep=sink.frames > 0)
        preview.close()
    if not collected.target_bbox:
        raise PytrackingError("the video has no frames")
    written = write_outputs(out_dir, collected, collected_ids)
    files = [*written, out_dir / "overlay.mp4", *sorted((out_dir / "masks").glob("*.png"))]
    zip_path = write_zip(out_dir / "results.zip", out_dir, files)
    shown = preview.path if preview.ok else None
    return JobResult(out_dir, len(collected.target_bbox), zip_path, shown, collected.target_bbox)


def write_zip(path: Path, root: Path, files: list[Path]) -> Path:
    """Zip ``files`` under their paths relative to ``root`` (written atomically)."""
    with atomic_open(path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            if file.is_file():
                archive.write(file, file.relative_to(root).as_posix())
    return path


class PreviewSink:
    """A VP8 WebM copy of the overlay for the page's video player: browsers do not play the
    ``mp4v`` MP4 that OpenCV writes, and VP8 is the codec OpenCV's wheels can write that they do."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = Path(path)
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        self.ok = False

    def write(self, frame: np.ndarray) -> None:
        if self._writer is None:
            height, width = frame.shape[:2]
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"VP80"), self.fps, (width, height))
        if self._writer.isOpened():
            self._writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
            self.ok = True

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
