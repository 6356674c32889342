"""The public segmentation API: ``VideoSegmenter(name, parameter_name)`` over any registered segmenter (docs/api.md).

It sits in the plugin package, above the cores (the cores never import or name the plugins:
import-linter contract, docs/architecture.md), and uses the same ``SEGMENTERS`` registry and
parameter sets as ``run_segmentation``; frames are checked and read with the tracking API's
helpers (:mod:`pytracking_ext.api.frames`), so trackers and segmenters take the same inputs.
Not to be confused with :class:`segmentation_plugins.segmenter.VideoSegmenter`, the contract a
plugin implements: this class drives one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from pytracking_ext.api.frames import FrameInput, check_frame, iter_frames
from pytracking_ext.api.tracker import tracker_parameters
from pytracking_ext.errors import TrackerInputError
from pytracking_ext.trackers import TrackerParams

from .registry import SEGMENTERS, segmenter_parameters


class VideoSegmenter:
    """Semantic segmentation of a stream of frames: one ``(H, W)`` uint8 label map per frame.

    >>> segmenter = VideoSegmenter("lmanet", "lite0_camvid")
    >>> labels = segmenter.segment(frame)           # class id per pixel
    """

    def __init__(self, name: str, parameter_name: str | TrackerParams, **overrides: Any) -> None:
        if isinstance(parameter_name, str):
            params = segmenter_parameters(name, parameter_name)
        else:
            SEGMENTERS.get(name)  # an unknown name fails here, listing the installed segmenters
            params = parameter_name
        params = tracker_parameters(name, params, overrides, source="VideoSegmenter")
        self.name = name
        self.params = params
        self._segmenter = SEGMENTERS.get(name)(params)
        self.num_classes: int = int(self._segmenter.num_classes)
        self._shape: tuple[int, int] | None = None
        self._frame_index = -1

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """The label map of the next frame of the current video (state carries over between calls)."""
        (labels,) = self.segment_video([frame])
        return labels

    def segment_video(self, frames: FrameInput) -> Iterator[np.ndarray]:
        """Label maps of ``frames`` (a path, folder, list or generator), continuing the current video.

        Pipelined segmenters (EVS) run ahead inside one call; frames are read lazily.
        """
        for output in self._segmenter.segment_video(self._checked(iter_frames(frames))):
            yield np.asarray(output.labels)

    def reset(self) -> None:
        """Start a new video (any frame size)."""
        self._segmenter.reset()
        self._shape = None
        self._frame_index = -1

    def close(self) -> None:
        """Release the segmenter's threads or devices."""
        self._segmenter.close()

    def __enter__(self) -> VideoSegmenter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _checked(self, frames) -> Iterator[np.ndarray]:
        for frame in frames:
            check_frame(frame, f"segment: frame {self._frame_index + 1}")
            if self._shape is not None and frame.shape[:2] != self._shape:
                raise TrackerInputError(
                    f"segment: frame size {frame.shape[1]}x{frame.shape[0]} differs from the video's "
                    f"{self._shape[1]}x{self._shape[0]}; call reset() to start another video"
                )
            self._shape = frame.shape[:2]
            self._frame_index += 1
            yield frame


def segment_video(
    frames: FrameInput, name: str = "lmanet", parameters: str = "lite0_camvid", **overrides: Any
) -> Iterator[np.ndarray]:
    """Yield the label map of every frame of ``frames`` with a fresh :class:`VideoSegmenter`."""
    with VideoSegmenter(name, parameters, **overrides) as segmenter:
        yield from segmenter.segment_video(frames)
