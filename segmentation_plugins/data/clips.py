"""What a clip sample is, and the reading/resizing helpers both dataset loaders share.

A *clip sample* is a plain dict (so torch's default collate batches it):

``frames``
    ``(L, H, W, 3) uint8`` RGB, oldest first; the last frame is the annotated one. uint8 because
    EVS feeds frames to OpenCV's DIS flow (8-bit only); :func:`to_tensors` gives the float
    ``(L, 3, H, W)`` in [0, 1] that LMANet uses (no mean/std normalisation, as the official code).
``label``
    ``(H, W) int64`` train ids of the last frame, ``255`` = ignore.
``labels`` (CamVid with ``all_labels=True`` only)
    ``(L, H, W) int64`` train ids of every frame of the clip.
``name``
    identifier of the annotated frame (file stem without suffix).
``frame_numbers``
    ``(L,) int64`` frame numbers of the clip in the source video.
``augment`` (after :class:`~segmentation_plugins.data.augment.ClipAugment` only)
    the random choices applied (flip, shift, scale, crop).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pytracking_ext.errors import DatasetError, ImageReadError
from pytracking_ext.utils.io import imread_indexed, imread_rgb

Sample = dict[str, Any]
Transform = Callable[[Sample], Sample]
Size = tuple[int, int]  # (width, height), OpenCV order


def read_frame(path: Path) -> np.ndarray:
    """``(H, W, 3) uint8`` RGB; a missing or corrupt file raises :class:`DatasetError` naming it."""
    try:
        return imread_rgb(path)
    except ImageReadError as err:
        raise DatasetError(str(err)) from None


def read_label_values(path: Path) -> np.ndarray:
    """Raw ``(H, W) uint8`` values of a label PNG (palette indices, never colours)."""
    try:
        return imread_indexed(path)
    except ImageReadError as err:
        raise DatasetError(str(err)) from None


def check_size(size: Size | None) -> Size | None:
    """Validate a ``(width, height)`` pair."""
    if size is None:
        return None
    if len(size) != 2 or min(int(size[0]), int(size[1])) < 1:
        raise ValueError(f"size must be (width, height) with positive values, got {size!r}")
    return int(size[0]), int(size[1])


def resize_frame(frame: np.ndarray, size: Size | None) -> np.ndarray:
    """Bilinear resize of an RGB frame to ``(width, height)`` (no-op when already that size)."""
    if size is None or (frame.shape[1], frame.shape[0]) == tuple(size):
        return frame
    return cv2.resize(frame, tuple(size), interpolation=cv2.INTER_LINEAR)


def resize_label(label: np.ndarray, size: Size | None) -> np.ndarray:
    """Nearest-neighbour resize of a label map, so no new (mixed) class values appear."""
    if size is None or (label.shape[1], label.shape[0]) == tuple(size):
        return label
    # OpenCV's resize has no int64 path; train ids fit in uint8.
    return cv2.resize(label.astype(np.uint8), tuple(size), interpolation=cv2.INTER_NEAREST).astype(label.dtype)


def check_shapes(
    frames: Sequence[np.ndarray], label: np.ndarray, frame_paths: Sequence[Path], label_path: Path
) -> None:
    """All frames of a clip and its label must share one size (the message names the odd file)."""
    height, width = frames[-1].shape[:2]
    for frame, path in zip(frames, frame_paths):
        if frame.shape[:2] != (height, width):
            raise DatasetError(
                f"{path}: size {frame.shape[1]}x{frame.shape[0]} differs from the clip's {width}x{height}"
            )
    if label.shape != (height, width):
        raise DatasetError(
            f"{label_path}: label size {label.shape[1]}x{label.shape[0]} differs from its frame's {width}x{height}"
        )


def to_tensors(sample: Sample) -> Sample:
    """Copy of ``sample`` with ``frames`` as float ``(L, 3, H, W)`` in [0, 1] and labels as int64 tensors.

    Works on single samples and on batches from the default collate (``(B, L, H, W, 3)`` uint8).
    """
    import torch

    out = dict(sample)
    frames = sample["frames"]
    frames = frames if torch.is_tensor(frames) else torch.from_numpy(np.ascontiguousarray(frames))
    out["frames"] = frames.movedim(-1, -3).float().div_(255.0)
    for key in ("label", "labels"):
        if key in sample:
            out[key] = torch.as_tensor(sample[key]).long()
    return out


def clip_windows(run_length: int, clip_length: int, stride: int = 1) -> list[int]:
    """End indices of the clips of ``clip_length`` frames inside a run of ``run_length`` frames."""
    if clip_length < 1:
        raise ValueError(f"clip_length must be >= 1, got {clip_length}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    return list(range(clip_length - 1, run_length, stride))


__all__ = [
    "Sample",
    "Size",
    "Transform",
    "check_shapes",
    "check_size",
    "clip_windows",
    "read_frame",
    "read_label_values",
    "resize_frame",
    "resize_label",
    "to_tensors",
]
