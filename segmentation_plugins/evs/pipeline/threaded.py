"""The threaded runtime of the EVS pipeline (``threaded=True``, the default).

Concurrency (docs/evs.md §2.4, [D]): a reader thread takes frames from the caller's iterable
(at most ``queue_size`` frames in flight, from arrival to the caller receiving their output),
converts them to gray and queues their flow to ``flow_threads`` flow threads, which run ahead of
the rest (the flow of t needs only frames t-1 and t). A network thread runs ICNet and the Refiner
on the device, one job at a time, smallest frame index first; ICNet of the next scheduled key
frame is queued as soon as that frame has arrived, so it runs while the CPU propagates the
current cycle. A sequencer thread does the warps and the IAM strictly in frame order (frame t
needs the final result of t-1) and hands outputs to the caller's generator in order. An
exception in any thread (or in the caller's iterable) stops every thread and is re-raised in the
caller, unchanged; :meth:`ThreadedRun.shutdown` stops and joins the threads.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any

import numpy as np
import torch

from ...segmenter import SegmentationOutput
from ..errors import EVSInputError
from ..flow import FlowEstimator
from .algorithm import FrameAlgorithm
from .errors import EVSPipelineClosed
from .state import Frame, NetResult, PropagationState

# Blocked threads are woken by sentinels when the run stops; the timeout is only a fallback. Few
# wake-ups matter: every one makes the network thread hand over the GIL, and on a busy CPU each
# hand-over can cost it a scheduler time slice (network 2-3x slower with 50 ms polling here).
_POLL_S = 1.0
_JOIN_S = 60.0  # longest wait for a thread to finish its current step (one ICNet run on a slow CPU)


class _Stopped(Exception):
    """Raised inside a worker when the run is stopping (never leaves the pipeline)."""


_END = object()


class _StopItem(tuple):
    """Queue sentinel that wakes a blocked thread; sorts first in the network's priority queue."""


_STOP_ITEM = _StopItem((-1, -1, None))


class _Job:
    """A network job; the sequencer waits on ``future``; a cancelled job is skipped."""

    def __init__(self, run: Callable[[], NetResult]) -> None:
        self.run = run
        self.future: Future = Future()
        self.cancelled = False


class ThreadedRun:
    """The threads of one :meth:`EVSPipeline.run` call and the queues between them; also the
    :class:`~.algorithm.Backend` of the sequencer's steps."""

    def __init__(self, algorithm: FrameAlgorithm, frames: Iterable[np.ndarray], state: PropagationState | None) -> None:
        self.algorithm = algorithm
        self.config = algorithm.config
        self.frames = frames
        self.state = state
        self.stop = threading.Event()
        self._stopped: Future = Future()  # done when the run stops: wakes threads waiting on a future
        self.error: BaseException | None = None
        self._error_lock = threading.Lock()
        self.slots = threading.Semaphore(self.config.frames_in_flight)
        self.arrivals: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        self.flow_jobs: queue.Queue = queue.Queue()
        self.net_jobs: queue.PriorityQueue = queue.PriorityQueue()
        self._sequence = itertools.count()  # tie-breaker of equal priorities
        self._lock = threading.Lock()  # guards the three dicts below
        self._arrived: dict[int, Frame] = {}
        self._key_jobs: dict[int, _Job] = {}
        self._pending_keys: set[int] = set()
        self.threads: list[threading.Thread] = []

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        targets = [("reader", self._read_loop), ("sequencer", self._sequence_loop), ("network", self._network_loop)]
        if self.config.warp:
            targets += [(f"flow{i}", self._flow_loop) for i in range(self.config.flow_threads)]
        for name, target in targets:
            thread = threading.Thread(target=self._guard, args=(target,), name=f"evs-{name}", daemon=True)
            self.threads.append(thread)
            thread.start()

    def shutdown(self) -> None:
        """Stop every thread and wait for them (each finishes its current step). Idempotent.

        The reader gets a short wait only: it may be blocked inside the caller's iterable (a
        camera); it is a daemon thread and ends when that returns its next frame.
        """
        self._signal_stop()
        deadline = time.monotonic() + _JOIN_S
        current = threading.current_thread()
        for thread in self.threads[1:] + self.threads[:1]:  # the reader (first) last
            if thread is not current:
                limit = deadline - time.monotonic()
                thread.join(max(0.0, min(limit, 1.0) if thread is self.threads[0] else limit))

    def fail(self, error: BaseException) -> None:
        with self._error_lock:
            if self.error is None:
                self.error = error
        self._signal_stop()

    def _signal_stop(self) -> None:
        """Set the stop flag and wake every blocked thread (idempotent)."""
        with self._error_lock:
            if self.stop.is_set():
                return
            self.stop.set()
        self._stopped.set_result(None)
        for source in (self.arrivals, self.results, self.net_jobs, *[self.flow_jobs] * self.config.flow_threads):
            source.put(_STOP_ITEM)
        for _ in range(self.config.frames_in_flight):
            self.slots.release()

    def _guard(self, target: Callable[[], None]) -> None:
        try:
            with torch.no_grad():  # grad mode is per thread
                target()
        except _Stopped:
            pass
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            self.fail(error)

    def _get(self, source: queue.Queue) -> Any:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                item = source.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is _STOP_ITEM:
                raise _Stopped
            return item

    def _wait(self, future: Future) -> Any:
        while not future.done():
            if self.stop.is_set():
                raise _Stopped
            wait((future, self._stopped), timeout=_POLL_S, return_when=FIRST_COMPLETED)
        return future.result()

    # ---------------------------------------------------------------- caller side

    def outputs(self) -> Iterator[tuple[SegmentationOutput, PropagationState, float]]:
        while True:
            if self.error is not None:
                raise self.error
            if self.stop.is_set():
                raise EVSPipelineClosed("the EVS stream was stopped (close(), reset() or a newer run())")
            try:
                item = self.results.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if item is _STOP_ITEM:
                continue  # the flags above say why
            if item is _END:
                return
            self.slots.release()  # the caller has the output: the reader may take one more frame
            yield item

    # ---------------------------------------------------------------- threads

    def _read_loop(self) -> None:
        cfg, schedule = self.config, self.config.schedule
        state = self.state
        first_key = schedule.first_key(state.since_key if state is not None else None)
        prev_gray = state.gray if state is not None else None
        size = state.size if state is not None else None
        iterator = iter(self.frames)
        for index in itertools.count():
            while not self.slots.acquire(timeout=_POLL_S):
                if self.stop.is_set():
                    raise _Stopped
            if self.stop.is_set():
                raise _Stopped
            try:
                image = next(iterator)
            except StopIteration:
                break
            frame = self.algorithm.intake(index, image, state, prev_gray, size)
            size = image.shape[:2]
            scheduled_key = index >= first_key and (index - first_key) % cfg.keyframe_interval == 0
            if cfg.warp and prev_gray is not None and (schedule.adaptive or cfg.blend_reading or not scheduled_key):
                frame.flow = Future()
                self.flow_jobs.put(frame)
            prev_gray = frame.gray
            with self._lock:
                self._arrived[index] = frame
                if index in self._pending_keys:
                    self._pending_keys.discard(index)
                    self._submit_key(frame)
            self.arrivals.put(frame)
        self.arrivals.put(_END)

    def _flow_loop(self) -> None:
        estimator = FlowEstimator(self.config.flow_method, self.config.flow_scale)  # not thread-safe: one each
        while True:
            frame = self._get(self.flow_jobs)
            start = time.perf_counter()
            flow = estimator.flow(frame.prev_gray, frame.gray)
            frame.flow_s = time.perf_counter() - start
            frame.flow.set_result(flow)

    def _network_loop(self) -> None:
        while True:
            job = self._get(self.net_jobs)[2]
            if not job.cancelled:
                job.future.set_result(job.run())

    def _sequence_loop(self) -> None:
        state = self.state
        while True:
            frame = self._get(self.arrivals)
            if frame is _END:
                self.results.put(_END)
                return
            output, state = self.algorithm.step(frame, state, self)
            with self._lock:
                self._arrived.pop(frame.index, None)
                self._key_jobs.pop(frame.index, None)
            ready = time.perf_counter()
            output.info["latency_s"] = ready - frame.arrival
            self.results.put((output, state, ready))

    # ---------------------------------------------------------------- backend for FrameAlgorithm.step

    def _submit_key(self, frame: Frame) -> _Job:
        job = _Job(lambda: self.algorithm.run_key(frame))
        self._key_jobs[frame.index] = job
        self.net_jobs.put((frame.index, next(self._sequence), job))
        return job

    def flow(self, frame: Frame) -> np.ndarray:
        if frame.flow is None:
            raise EVSInputError(f"internal: no flow was queued for frame {frame.index}")
        return self._wait(frame.flow)

    def schedule_key(self, index: int) -> None:
        with self._lock:
            if index in self._key_jobs or index in self._pending_keys:
                return
            if index in self._arrived:
                self._submit_key(self._arrived[index])
            else:
                self._pending_keys.add(index)

    def unschedule_key(self, index: int) -> None:
        with self._lock:
            self._pending_keys.discard(index)
            job = self._key_jobs.pop(index, None)
        if job is not None:
            job.cancelled = True  # skipped if not started; a result already computed is dropped

    def key(self, frame: Frame) -> NetResult:
        with self._lock:
            job = self._key_jobs.get(frame.index) or self._submit_key(frame)
        return self._wait(job.future)

    def refine(self, frame: Frame, features: list[np.ndarray], p_warped: torch.Tensor) -> NetResult:
        job = _Job(lambda: self.algorithm.run_refine(frame, features, p_warped))
        self.net_jobs.put((frame.index, next(self._sequence), job))
        return self._wait(job.future)
