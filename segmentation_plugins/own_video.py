"""Segment a user's video (file or folder of images): label PNGs plus a colour overlay video."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from pytracking_ext.errors import DatasetError
from pytracking_ext.utils.io import imread_rgb, imwrite_indexed

from .data.labels import LabelSet
from .segmenter import VideoSegmenter

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def read_video(path: str | os.PathLike, max_frames: int | None = None) -> tuple[Iterator[np.ndarray], int, float]:
    """``(frames, count, fps)``: RGB uint8 frames of a video file or a folder of images (sorted by name)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DatasetError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        files = files[:max_frames] if max_frames else files
        return (imread_rgb(f) for f in files), len(files), 30.0
    if not path.is_file():
        raise DatasetError(f"{path}: video file or image folder not found")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DatasetError(f"{path}: cannot open as a video")
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    count = min(count, max_frames) if max_frames else count

    def frames() -> Iterator[np.ndarray]:
        try:
            read = 0
            while max_frames is None or read < max_frames:
                ok, bgr = capture.read()
                if not ok:
                    break
                read += 1
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            capture.release()

    return frames(), count, fps


def overlay(frame: np.ndarray, labels: np.ndarray, label_set: LabelSet, alpha: float = 0.5) -> np.ndarray:
    """The frame with its class colours blended in (RGB uint8)."""
    colours = label_set.colorize(labels)
    return cv2.addWeighted(frame, 1 - alpha, colours, alpha, 0)


def segment_own_video(
    segmenter: VideoSegmenter,
    label_set: LabelSet,
    source: str | os.PathLike,
    out: str | os.PathLike,
    max_frames: int | None = None,
    progress: bool = True,
) -> dict:
    """Write ``out/labels/NNNNN.png`` (indexed, class colours) and ``out/overlay.mp4``; returns a summary."""
    frames, count, fps = read_video(source, max_frames)
    out = Path(out)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    palette = label_set.palette()
    writer, partial = None, out / "overlay.partial.mp4"
    written = 0
    segmenter.reset()
    tee: list[np.ndarray] = []

    def remember(stream: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for frame in stream:
            tee.append(frame)
            yield frame

    try:
        for output in tqdm(
            segmenter.segment_video(remember(frames)),
            total=count or None,
            unit="frame",
            desc=f"segmenting {Path(source).name}",
            disable=not progress,
        ):
            frame = tee.pop(0)
            imwrite_indexed(out / "labels" / f"{written:05d}.png", output.labels, palette)
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
            writer.write(cv2.cvtColor(overlay(frame, output.labels, label_set), cv2.COLOR_RGB2BGR))
            written += 1
    finally:
        if writer is not None:
            writer.release()
    if written:
        partial.replace(out / "overlay.mp4")  # only a finished video gets the final name
    return {"frames": written, "labels": str(out / "labels"), "overlay": str(out / "overlay.mp4") if written else None}
