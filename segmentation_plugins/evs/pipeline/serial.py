"""The serial runtime of the EVS pipeline (``threaded=False``): every step in the caller's thread.

One frame after the other: the flow and the networks run inline when the algorithm asks for
them (reference results, serial timings).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch

from ...segmenter import SegmentationOutput
from ..flow import FlowEstimator
from .algorithm import FrameAlgorithm
from .errors import EVSPipelineClosed
from .state import Frame, NetResult, PropagationState


class SerialBackend:
    """The :class:`~.algorithm.Backend` that computes everything inline."""

    def __init__(self, algorithm: FrameAlgorithm) -> None:
        self.algorithm = algorithm
        self._flow = FlowEstimator(algorithm.config.flow_method, algorithm.config.flow_scale)

    def flow(self, frame: Frame) -> np.ndarray:
        start = time.perf_counter()
        flow = self._flow.flow(frame.prev_gray, frame.gray)
        frame.flow_s = time.perf_counter() - start
        return flow

    def schedule_key(self, index: int) -> None:
        pass

    def unschedule_key(self, index: int) -> None:
        pass

    def key(self, frame: Frame) -> NetResult:
        return self.algorithm.run_key(frame)

    def refine(self, frame: Frame, features: list[np.ndarray], p_warped: torch.Tensor) -> NetResult:
        return self.algorithm.run_refine(frame, features, p_warped)


def serial_outputs(
    algorithm: FrameAlgorithm, frames: Iterable[np.ndarray], start: PropagationState | None, stopped: Callable[[], bool]
) -> Iterator[tuple[SegmentationOutput, PropagationState, float]]:
    """``(output, state after it, ready time)`` per frame of ``frames``, continuing from ``start``.

    ``stopped()`` is asked before each frame; when true the stream raises :class:`EVSPipelineClosed`.
    """
    backend = SerialBackend(algorithm)
    state = start
    prev_gray = start.gray if start is not None else None
    size = start.size if start is not None else None
    for index, image in enumerate(frames):
        if stopped():
            raise EVSPipelineClosed("the EVS stream was stopped (close(), reset() or a newer run())")
        frame = algorithm.intake(index, image, start, prev_gray, size)
        size, prev_gray = image.shape[:2], frame.gray
        with torch.no_grad():
            output, state = algorithm.step(frame, state, backend)
        ready = time.perf_counter()
        output.info["latency_s"] = ready - frame.arrival
        yield output, state, ready
