"""The contract every video segmentation plugin implements (LMANet, EVS, single-frame baselines).

A segmenter owns its online state (memories, key frames, worker threads); its networks stay pure
``nn.Module``s. Videos are streams: :meth:`VideoSegmenter.segment_video` consumes frames and yields
one :class:`SegmentationOutput` per frame, in order, so a pipelined method (EVS overlaps flow on
CPU threads with the network) can run ahead internally. Clip mode, the official evaluation
protocol, is a reset followed by a stream over the clip, keeping the last output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class SegmentationOutput:
    """One frame's result.

    ``labels``: ``H x W`` uint8 class ids at the frame's resolution. ``probabilities``: the class
    scores the labels came from when the method has them (``C x h x w``, any resolution).
    ``info``: per-frame facts for reports, e.g. ``keyframe`` (bool), ``inconsistent_fraction``,
    ``latency_s``.
    """

    labels: np.ndarray
    probabilities: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict)


class VideoSegmenter(ABC):
    """Segments videos frame by frame; frames are ``H x W x 3`` uint8 RGB arrays."""

    #: number of output classes (label ids ``0 .. num_classes - 1``)
    num_classes: int

    @abstractmethod
    def reset(self) -> None:
        """Forget everything about the previous video."""

    @abstractmethod
    def segment_video(self, frames: Iterable[np.ndarray]) -> Iterator[SegmentationOutput]:
        """One output per input frame, in order; the state carries over from the previous call."""

    def segment_clip(self, frames: Sequence[np.ndarray]) -> SegmentationOutput:
        """Official clip protocol: a fresh state, the clip streamed, the last frame's output."""
        if not frames:
            raise ValueError("segment_clip needs at least one frame")
        self.reset()
        output = None
        for frame_output in self.segment_video(frames):
            output = frame_output
        return output

    def close(self) -> None:
        """Release threads or devices (idempotent)."""

    def __enter__(self) -> VideoSegmenter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class FrameSegmenter(VideoSegmenter):
    """A segmenter that handles one frame at a time: implement :meth:`segment`."""

    @abstractmethod
    def segment(self, frame: np.ndarray) -> SegmentationOutput:
        """The output of the next frame of the current video."""

    def segment_video(self, frames: Iterable[np.ndarray]) -> Iterator[SegmentationOutput]:
        for frame in frames:
            yield self.segment(frame)


def check_frame(frame: np.ndarray, where: str = "frame") -> np.ndarray:
    """``frame`` if it is an ``H x W x 3`` uint8 image, else a one-line error."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise ValueError(f"{where}: expected an H x W x 3 uint8 RGB image, got shape {shape} and dtype {dtype}")
    return frame
