"""Frames for the public API: checking one frame and reading any source as RGB ``uint8`` arrays."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import numpy as np

from ..errors import TrackerInputError

#: What :func:`iter_frames` accepts: a video file or image folder path, or any iterable of frames.
FrameInput = str | os.PathLike | Iterable[np.ndarray]


def check_frame(frame: object, where: str = "frame") -> np.ndarray:
    """``frame`` when it is an ``(H, W, 3)`` uint8 RGB array, else a one-line :class:`TrackerInputError`."""
    if not isinstance(frame, np.ndarray):
        raise TrackerInputError(f"{where}: expected an (H, W, 3) uint8 RGB numpy array, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise TrackerInputError(f"{where}: expected an (H, W, 3) uint8 RGB array, got shape {frame.shape}")
    if frame.dtype != np.uint8:
        raise TrackerInputError(f"{where}: expected dtype uint8 (RGB 0-255), got {frame.dtype}")
    return frame


def iter_frames(source: FrameInput) -> Iterator[np.ndarray]:
    """The frames of ``source`` one at a time (never all in memory).

    ``source`` is a video file or an image folder (read with
    :func:`pytracking_ext.datasets.own_video.open_frame_source`, RGB), a ``FrameSource``, an
    ``(N, H, W, 3)`` array, or any iterable (list, generator) of ``(H, W, 3)`` uint8 RGB arrays.
    """
    if isinstance(source, (str, os.PathLike)):
        from ..datasets.own_video import open_frame_source  # cv2: only when a path is given

        if isinstance(source, str) and source.isdigit():
            raise TrackerInputError(f"frames '{source}': a webcam index is not a video path; pass its frames")
        source = open_frame_source(source)
    from ..datasets.own_video import FrameSource

    if isinstance(source, FrameSource):
        return (image for _, _, image in source)
    if isinstance(source, np.ndarray) and source.ndim != 4:
        raise TrackerInputError(f"frames: expected an (N, H, W, 3) array of frames, got shape {source.shape}")
    try:
        return iter(source)
    except TypeError:
        raise TrackerInputError(
            f"frames: expected a video path, an image folder or an iterable of frames, got {type(source).__name__}"
        ) from None
