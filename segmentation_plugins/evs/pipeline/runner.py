""":class:`EVSPipeline`: streams a video through EVS with the runtime its config names.

The per-frame algorithm is algorithm.py; ``threaded=True`` (default) runs it with the threads of
threaded.py, ``threaded=False`` in the caller's thread (serial.py). Closing the generator early,
an interrupt, :meth:`EVSPipeline.close` or :meth:`EVSPipeline.reset` stop and join the threads.
An exception raised in the caller's own loop body reaches the generator only when it is closed:
``with segmenter:`` (or ``contextlib.closing``) closes it at once, an abandoned generator when it
is garbage-collected; until then the idle threads wait.

Frames are H×W×3 uint8 **RGB** (the segmenter contract); ICNet gets them as BGR with its mean
subtracted (models/icnet.py). Per-frame ``info``: ``frame_index``, ``keyframe``,
``forced_keyframe``, ``refined``, ``mode`` (key/copy/warp/refine), ``latency_s`` (frame taken from
the iterable → output ready; the caller's own time between outputs is not included, the time a
frame waits behind earlier ones is: with a source that delivers all frames at once, such as a
list, the latency grows to about ``queue_size`` frame times),
``inconsistent_fraction`` (when the eq. 3.3 check ran), and the work done for the frame:
``flow_s``, ``warp_s``, ``iam_s``, ``network_s``, ``upsample_s``. :attr:`EVSPipeline.last_stats`
holds the throughput of the last run (:class:`RunStats`). Outputs share tensors with the state
(a copied frame's ``probabilities`` is the previous one's): treat them as read-only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from ...segmenter import SegmentationOutput
from ..iam import InconsistencyAttention
from ..models.icnet import ICNet
from ..models.refiner import Refiner
from .algorithm import FrameAlgorithm
from .config import PipelineConfig
from .errors import EVSPipelineClosed
from .serial import serial_outputs
from .state import PropagationState
from .stats import RunStats, StatsCollector
from .threaded import ThreadedRun


class EVSPipeline:
    """Streams a video through EVS; one instance per video source (see the module docstring).

    ``icnet`` and ``refiner`` are moved to ``device`` and put in eval mode; the Refiner is needed
    only with ``config.refine``. The state carries over between :meth:`run` calls until
    :meth:`reset`.
    """

    def __init__(
        self, icnet: ICNet, config: PipelineConfig, refiner: Refiner | None = None, device: torch.device | str = "cpu"
    ) -> None:
        self.algorithm = FrameAlgorithm(icnet, config, refiner, device)
        self._state: PropagationState | None = None
        self._active: ThreadedRun | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._generation = 0
        self.last_stats: RunStats | None = None

    # ----------------------------------------------------------------------------- public API

    @property
    def config(self) -> PipelineConfig:
        return self.algorithm.config

    @property
    def device(self) -> torch.device:
        return self.algorithm.device

    @property
    def icnet(self) -> ICNet:
        return self.algorithm.icnet

    @property
    def refiner(self) -> Refiner | None:
        return self.algorithm.refiner

    @property
    def iam(self) -> InconsistencyAttention:
        return self.algorithm.iam

    @property
    def state(self) -> PropagationState | None:
        """The state after the last output the caller received (None after :meth:`reset`)."""
        return self._state

    def reset(self) -> None:
        """Stop a stream still running and forget the video."""
        self._stop_active()
        self._state = None

    def close(self) -> None:
        """Stop a stream still running; later :meth:`run` calls are refused. Idempotent."""
        self._closed = True
        self._stop_active()

    def run(self, frames: Iterable[np.ndarray]) -> Iterator[SegmentationOutput]:
        """One output per frame, in order; continues the current video (see :meth:`reset`).

        A new call stops a stream of this pipeline that is still open (reading it later raises).
        """
        if self._closed:
            raise EVSPipelineClosed("this EVS pipeline is closed; build a new segmenter")
        return self._run_threaded(frames) if self.config.threaded else self._run_serial(frames)

    # ----------------------------------------------------------------------------- streams

    def _stop_active(self) -> None:
        with self._lock:
            active, self._active = self._active, None
            self._generation += 1  # an open serial stream sees it and stops
        if active is not None:
            active.shutdown()

    def _run_threaded(self, frames: Iterable[np.ndarray]) -> Iterator[SegmentationOutput]:
        self._stop_active()
        if self._closed:
            raise EVSPipelineClosed("this EVS pipeline is closed; build a new segmenter")
        run = ThreadedRun(self.algorithm, frames, self._state)
        with self._lock:
            self._active = run
        stats = StatsCollector()
        try:
            run.start()
            for output, state, ready in run.outputs():
                self._state = state
                stats.add(output, ready)
                yield output
        finally:
            run.shutdown()
            with self._lock:
                if self._active is run:
                    self._active = None
            self.last_stats = stats.result()

    def _run_serial(self, frames: Iterable[np.ndarray]) -> Iterator[SegmentationOutput]:
        self._stop_active()
        generation = self._generation
        stats = StatsCollector()
        try:
            for output, state, ready in serial_outputs(
                self.algorithm, frames, self._state, lambda: self._generation != generation
            ):
                self._state = state
                stats.add(output, ready)
                yield output
        finally:
            self.last_stats = stats.result()
