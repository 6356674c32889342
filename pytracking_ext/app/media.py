"""Open the page's video (an upload or a path on the server) with one-line errors for bad input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PytrackingError

#: Default upload limit; ``--max-upload-mb`` changes it.
DEFAULT_MAX_UPLOAD_MB = 200.0


class VideoInputError(PytrackingError):
    """A video the page cannot use: too large, missing, or not a video OpenCV can decode."""


@dataclass
class VideoInfo:
    """An opened video: where it is, its first frame (RGB) and its frame count (None if unknown)."""

    path: Path
    first_frame: np.ndarray
    num_frames: int | None


def check_size(path: Path, max_mb: float) -> None:
    """Refuse files over ``max_mb`` megabytes (the upload limit also applies to server paths)."""
    size = path.stat().st_size
    if size > max_mb * 1e6:
        raise VideoInputError(f"{path.name}: {size / 1e6:.1f} MB is over the {max_mb:g} MB limit")


def open_video(path: str | Path, max_mb: float = DEFAULT_MAX_UPLOAD_MB) -> VideoInfo:
    """Check ``path`` (a video file or an image folder) and read its first frame."""
    from ..datasets.own_video import open_frame_source

    path = Path(str(path).strip()).expanduser()
    if not str(path) or not path.exists():
        raise VideoInputError(f"{path}: no such file or folder")
    if path.is_file():
        check_size(path, max_mb)
    try:
        source = open_frame_source(path, max_frames=None)
        first = next(iter(source), None)
    except PytrackingError as err:
        raise VideoInputError(str(err)) from None
    if first is None:
        raise VideoInputError(f"{path.name}: no frame could be decoded (not a video, or a codec OpenCV lacks)")
    return VideoInfo(path, first[2], source.num_frames)


def iter_frames(path: Path, max_frames: int | None = None) -> Iterator[tuple[int, str, np.ndarray]]:
    """``(index, name, RGB image)`` of every frame, as ``run_video`` reads them."""
    from ..datasets.own_video import open_frame_source

    yield from open_frame_source(path, max_frames=max_frames)
