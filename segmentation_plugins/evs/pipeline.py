"""The EVS video pipeline: key-frame ICNet, CPU flow and warps, Refiner + IAM, run concurrently.

Per-frame procedure (evs_reference §2.3), for frame t of a video with operating point (D, S, W, R):

- **key frame** (the first frame, then every S-th frame counted from the last key frame): ICNet
  on the frame downscaled by D; its logits are resized bilinearly to the propagation resolution
  (1/``propagation_stride`` of the frame, 512×256 for 2048×1024, whatever D) and soft-maxed to
  P; L = argmax P; the low-level features F (1/16 of the network input) are kept when R is on.
  With ``keyframe_blend`` (EVS 01: S = 1 with W and R, §9 #13) the IAM blends ICNet's P, used as
  P_refiner, with P warped from t-1.
- **propagated frame, W off** (EVS 08/09/11/13): P, L and F of t-1 are copied.
- **propagated frame, W on**: DIS flow F^{t-1→t} on the gray frames (flow.py); P, and F when R
  is on, are warped to t (warp.py). On a frame where the Refiner runs (``refine_every``,
  schedule.py) the IAM's forward-backward check gives (L_F, L_BF), the Refiner runs on the frame
  with the warped F, and the IAM blends (eqs. 3.3-3.4): P, L = P_refined, argmax. Otherwise P is
  the warped P and **L is the previous labels warped with ``label_border``** (see below).
- **adaptive mode** (``adaptive_threshold``, schedule.py): every propagated frame gets the eq. 3.3
  check; above the threshold the frame becomes a key frame (ICNet on it) and the cycle restarts.
- **output**: L (or P) brought to the frame's resolution (``output_upsampling``: ``nearest``
  label upsampling, default, cheap on a CPU; or ``bilinear`` probabilities + argmax, evs_reference
  §2.5's evaluation rule), plus P at the propagation resolution as ``probabilities``.

Borders of warp-only frames ([D]): pixels whose source lies outside frame t-1 have no
prediction. Warped *labels* use ``label_border`` (``replicate``: the nearest edge label) and are
the output, so a warp-only frame never shows a strip of class 0 ("road") or of 255. Warped
*probabilities* keep ``probability_border`` (``constant`` 0): there, P carries no class at all,
and the IAM of a later refined frame of the cycle counts every pixel without a class as
inconsistent (M = 1: the Refiner fills it, not only the newest border strip); the ``bilinear`` output takes the nearest-upsampled L wherever the
upsampled P sums to less than 0.5, so it has no class-0 strips either. Refined and key frames
have valid P everywhere (the IAM sets M = 1 outside the frame), and L = argmax P there.

Concurrency (evs_reference §2.4, [D]): a reader thread takes frames from the caller's iterable
(at most ``queue_size`` frames in flight, from arrival to the caller receiving their output),
converts them to gray and queues their flow to ``flow_threads`` flow threads, which run ahead of
the rest (the flow of t needs only frames t-1 and t). A network thread runs ICNet and the Refiner
on the device, one job at a time, smallest frame index first; ICNet of the next scheduled key
frame is queued as soon as that frame has arrived, so it runs while the CPU propagates the
current cycle. A sequencer thread does the warps and the IAM strictly in frame order (frame t
needs the final result of t-1) and hands outputs to the caller's generator in order. An
exception in any thread (or in the caller's iterable) stops every thread and is re-raised in the
caller, unchanged; closing the generator early, an interrupt, :meth:`EVSPipeline.close` or
:meth:`EVSPipeline.reset` stop and join the threads. An exception raised in the caller's own loop
body reaches the generator only when it is closed: ``with segmenter:`` (or
``contextlib.closing``) closes it at once, an abandoned generator when it is garbage-collected;
until then the idle threads wait. ``threaded=False`` runs the same steps in the caller's thread,
one frame after the other (reference results, serial timings).

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

import dataclasses
import itertools
import queue
import statistics
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Protocol

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from pytracking_ext.errors import PytrackingError
from pytracking_ext.registry import Registry

from ..segmenter import SegmentationOutput, check_frame
from .errors import EVSConfigError, EVSInputError
from .flow import FLOW_METHODS, FlowEstimator
from .iam import InconsistencyAttention, inconsistency_map, inconsistent_fraction
from .models.blocks import resize
from .models.icnet import IMAGE_MEAN_BGR, ICNet
from .models.refiner import Refiner
from .schedule import KeyframeSchedule
from .warp import BORDERS, IGNORE_LABEL, INTERPOLATIONS, Warper, from_blocks, to_blocks

# Blocked threads are woken by sentinels when the run stops; the timeout is only a fallback. Few
# wake-ups matter: every one makes the network thread hand over the GIL, and on a busy CPU each
# hand-over can cost it a scheduler time slice (network 2-3x slower with 50 ms polling here).
_POLL_S = 1.0
_JOIN_S = 60.0  # longest wait for a thread to finish its current step (one ICNet run on a slow CPU)


class EVSPipelineClosed(PytrackingError):
    """The pipeline was closed, reset or restarted while a stream was still being read."""


def _nearest_labels(labels: np.ndarray, probabilities: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(labels, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)


def _bilinear_labels(labels: np.ndarray, probabilities: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    p = F.interpolate(probabilities[None], size=size, mode="bilinear", align_corners=False)[0]
    out = p.argmax(0).to(torch.uint8).numpy()
    empty = (p.sum(0) < 0.5).numpy()  # no class there (outside frame t-1 on warp-only frames)
    if empty.any():
        out[empty] = _nearest_labels(labels, probabilities, size)[empty]
    return out


# name -> (labels h×w uint8, probabilities C×h×w, frame size (H, W)) -> H×W uint8 labels
OUTPUT_UPSAMPLING = Registry("output upsampling")
OUTPUT_UPSAMPLING.add_all({"nearest": _nearest_labels, "bilinear": _bilinear_labels})


@dataclass(frozen=True)
class PipelineConfig:
    """Pipeline settings; :meth:`from_params` reads them from an EVS parameter set."""

    downscale: float = 1.0
    keyframe_interval: int = 1
    warp: bool = True
    refine: bool = False
    refine_every: str = "last"
    adaptive_threshold: float | None = None
    keyframe_blend: bool = False
    flow_method: str = "dis"
    flow_scale: float = 1.0
    flow_threads: int = 1
    propagation_stride: int = 4
    warp_interpolation: str = "nearest"
    label_border: str = "replicate"
    probability_border: str = "constant"
    feature_border: str = "constant"
    iam_dilation: int = 7
    iam_smoothing: int = 7
    iam_smoothing_mode: str = "box"
    ignore_label: int = IGNORE_LABEL
    queue_size: int | None = None
    output_upsampling: str = "nearest"
    threaded: bool = True
    schedule: KeyframeSchedule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule", KeyframeSchedule(self.keyframe_interval, self.refine, self.refine_every,
                                                              self.adaptive_threshold))
        if not 0 < self.downscale <= 1:
            raise EVSConfigError(f"downscale must be in (0, 1], got {self.downscale}")
        if self.refine and not self.warp:
            raise EVSConfigError("refine=True needs warp=True (the Refiner works on warped features)")
        if self.adaptive_threshold is not None and not self.warp:
            raise EVSConfigError("adaptive_threshold needs warp=True (the check uses the flow)")
        if self.keyframe_blend and not (self.warp and self.refine):
            raise EVSConfigError("keyframe_blend needs warp=True and refine=True (the IAM blends at key frames)")
        for name, value in (("flow_threads", self.flow_threads), ("propagation_stride", self.propagation_stride)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise EVSConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if self.queue_size is not None and (not isinstance(self.queue_size, int) or self.queue_size < 1):
            raise EVSConfigError(f"queue_size must be an integer >= 1 or None (automatic), got {self.queue_size!r}")
        FLOW_METHODS.get(self.flow_method)
        OUTPUT_UPSAMPLING.get(self.output_upsampling)
        for name, table in (("warp_interpolation", INTERPOLATIONS), ("label_border", BORDERS),
                            ("probability_border", BORDERS), ("feature_border", BORDERS)):
            if getattr(self, name) not in table:
                raise EVSConfigError(f"unknown {name} '{getattr(self, name)}'; known: {', '.join(sorted(table))}")

    @property
    def frames_in_flight(self) -> int:
        """``queue_size``, or by default enough for ICNet of the next key frame to start a cycle ahead."""
        return self.queue_size or max(4, self.keyframe_interval + 2)

    @classmethod
    def from_params(cls, params: Any, **overrides: Any) -> "PipelineConfig":
        """The fields found on ``params`` (a TrackerParams); missing ones keep their defaults."""
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        values = {name: getattr(params, name) for name in names if hasattr(params, name)}
        return cls(**{**values, **overrides})


@dataclass(frozen=True)
class PropagationState:
    """What the next frame needs from the last one; never mutated (every output carries its own).

    ``probabilities``: C×h×w CPU float32 at the propagation resolution (channels-last memory, as
    cv2 warps it); ``labels``: h×w uint8; ``features``: the last key frame's low-level features
    warped up to this frame, as H×W×c blocks (warp.to_blocks), only with R; ``gray``: this frame at
    the flow resolution, only with W.
    """

    frames: int
    size: tuple[int, int]
    since_key: int
    probabilities: torch.Tensor
    labels: np.ndarray
    features: list[np.ndarray] | None
    gray: np.ndarray | None


@dataclass
class RunStats:
    """Throughput of one :meth:`EVSPipeline.run` (the frames whose output reached the caller)."""

    frames: int
    keyframes: int
    forced_keyframes: int
    refined: int
    wall_s: float  # first frame taken from the iterable -> last output ready
    latencies_s: list[float] = field(default_factory=list)
    ready_s: list[float] = field(default_factory=list)  # each output's ready time since the first arrival

    @property
    def fps(self) -> float:
        """Frames per second over the whole run (pipeline fill included)."""
        return self.frames / self.wall_s if self.wall_s > 0 else float("nan")

    def fps_after(self, skip: int) -> float:
        """Frames per second after the first ``skip`` outputs (steady state once the pipeline is full)."""
        if skip < 1 or len(self.ready_s) <= skip:
            return self.fps
        span = self.ready_s[-1] - self.ready_s[skip - 1]
        return (len(self.ready_s) - skip) / span if span > 0 else float("nan")

    @property
    def latency_median_s(self) -> float:
        return statistics.median(self.latencies_s) if self.latencies_s else float("nan")

    @property
    def latency_max_s(self) -> float:
        return max(self.latencies_s) if self.latencies_s else float("nan")


@dataclass
class _Frame:
    """A frame inside the pipeline; ``index`` counts from the start of the current stream."""

    index: int
    number: int  # frame index in the video (continues across run() calls)
    image: np.ndarray
    arrival: float
    gray: np.ndarray | None = None
    prev_gray: np.ndarray | None = None
    flow: Future | None = None
    flow_s: float = 0.0


@dataclass
class _NetResult:
    """Network output brought to the propagation resolution, on the CPU."""

    probabilities: torch.Tensor
    labels: np.ndarray
    features: list[np.ndarray] | None
    seconds: float


class _Backend(Protocol):
    """How the sequencer gets flows and network results (threaded: futures; serial: inline)."""

    def flow(self, frame: _Frame) -> np.ndarray: ...

    def schedule_key(self, index: int) -> None: ...

    def unschedule_key(self, index: int) -> None: ...

    def key(self, frame: _Frame) -> _NetResult: ...

    def refine(self, frame: _Frame, features: list[np.ndarray], p_warped: torch.Tensor) -> _NetResult: ...


class _Timer:
    """Adds the time spent inside ``with timer('name'):`` to ``info['name']``."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info

    def __call__(self, name: str) -> "_Span":
        return _Span(self.info, name)


class _Span:
    def __init__(self, info: dict[str, Any], name: str) -> None:
        self.info, self.name = info, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: Any) -> None:
        self.info[self.name] = self.info.get(self.name, 0.0) + time.perf_counter() - self.start


class EVSPipeline:
    """Streams a video through EVS; one instance per video source (see the module docstring).

    ``icnet`` and ``refiner`` are moved to ``device`` and put in eval mode; the Refiner is needed
    only with ``config.refine``. The state carries over between :meth:`run` calls until
    :meth:`reset`.
    """

    def __init__(self, icnet: ICNet, config: PipelineConfig, refiner: Refiner | None = None,
                 device: torch.device | str = "cpu") -> None:
        if config.refine and refiner is None:
            raise EVSConfigError("refine=True needs a Refiner network")
        self.config = config
        self.device = torch.device(device)
        self.icnet = icnet.to(self.device).eval()
        self.refiner = refiner.to(self.device).eval() if refiner is not None else None
        self.iam = InconsistencyAttention(config.iam_dilation, config.iam_smoothing, config.iam_smoothing_mode,
                                          config.ignore_label)
        self._gray = FlowEstimator(config.flow_method, config.flow_scale)  # only its (stateless) prepare()
        self._mean = torch.tensor(IMAGE_MEAN_BGR, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._upsample = OUTPUT_UPSAMPLING.get(config.output_upsampling)
        self._keep_features = config.refine
        self._state: PropagationState | None = None
        self._active: _ThreadedRun | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._generation = 0
        self.last_stats: RunStats | None = None

    # ----------------------------------------------------------------------------- public API

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
        run = _ThreadedRun(self, frames, self._state)
        with self._lock:
            self._active = run
        stats = _StatsCollector()
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
        backend = _SerialBackend(self)
        stats = _StatsCollector()
        start = state = self._state
        prev_gray = start.gray if start is not None else None
        size = start.size if start is not None else None
        try:
            for index, image in enumerate(frames):
                if self._generation != generation:
                    raise EVSPipelineClosed("the EVS stream was stopped (close(), reset() or a newer run())")
                frame = self._intake(index, image, start, prev_gray, size)
                size, prev_gray = image.shape[:2], frame.gray
                with torch.no_grad():
                    output, state = self._step(frame, state, backend)
                ready = time.perf_counter()
                output.info["latency_s"] = ready - frame.arrival
                self._state = state
                stats.add(output, ready)
                yield output
        finally:
            self.last_stats = stats.result()

    # ----------------------------------------------------------------------------- stages

    def _intake(self, index: int, image: np.ndarray, state: PropagationState | None,
                prev_gray: np.ndarray | None, size: tuple[int, int] | None = None) -> _Frame:
        """Check a frame as it arrives and compute its gray image at the flow resolution."""
        arrival = time.perf_counter()
        number = (state.frames if state is not None else 0) + index
        check_frame(image, f"EVS frame {number}")
        expected = size or (state.size if state is not None else None)
        if expected is not None and image.shape[:2] != expected:
            raise EVSInputError(f"EVS frame {number} is {image.shape[1]}x{image.shape[0]} but the video so far is "
                                f"{expected[1]}x{expected[0]}; call reset() before a new video")
        gray = self._gray.prepare(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)) if self.config.warp else None
        return _Frame(index, number, image, arrival, gray, prev_gray)

    def _propagation_size(self, size: tuple[int, int]) -> tuple[int, int]:
        stride = self.config.propagation_stride
        return -(-size[0] // stride), -(-size[1] // stride)

    def _network_input(self, image: np.ndarray) -> torch.Tensor:
        """RGB uint8 frame → ICNet input on the device: BGR, mean subtracted, downscaled by D."""
        if not image.flags.writeable:  # torch.from_numpy warns on read-only arrays
            image = image.copy()
        x = torch.from_numpy(image).to(self.device)  # uint8: a quarter of the float bytes to copy
        x = x.permute(2, 0, 1).flip(0).unsqueeze(0).to(torch.float32)
        d = self.config.downscale
        if d != 1.0:
            h, w = image.shape[:2]
            # area averaging = cv2.INTER_AREA for a downscale
            x = F.interpolate(x, size=(max(1, round(h * d)), max(1, round(w * d))), mode="area")
        return x - self._mean

    def _to_propagation(self, logits: torch.Tensor, size: tuple[int, int], features: torch.Tensor | None,
                        start: float) -> _NetResult:
        """Logits (1×C×h×w at 1/4 of the net input) → P (channels-last, CPU), L and feature blocks."""
        # channels-last on the device: the CPU warps take that memory as is (warp.to_blocks), and an
        # argmax over the innermost dimension is ~4x faster on a CPU than over the outermost
        probs = resize(logits, self._propagation_size(size)).softmax(1)[0].permute(1, 2, 0).contiguous()
        labels = probs.argmax(-1).to(torch.uint8)
        blocks = None
        if features is not None:
            blocks = to_blocks(features[0].permute(1, 2, 0).contiguous().cpu().permute(2, 0, 1))
        return _NetResult(probs.cpu().permute(2, 0, 1), labels.cpu().numpy(), blocks, time.perf_counter() - start)

    def _run_key(self, frame: _Frame) -> _NetResult:
        start = time.perf_counter()
        out = self.icnet(self._network_input(frame.image), with_aux=False)
        return self._to_propagation(out.logits, frame.image.shape[:2], out.features if self._keep_features else None,
                                    start)

    def _run_refine(self, frame: _Frame, features: list[np.ndarray], p_warped: torch.Tensor) -> _NetResult:
        start = time.perf_counter()
        x = self._network_input(frame.image)
        f = from_blocks(features).unsqueeze(0).to(self.device)
        extra = p_warped.unsqueeze(0).to(self.device) if self.refiner.uses_pwarped else None
        out = self.refiner(x, f, extra, with_aux=False)
        return self._to_propagation(out.logits, frame.image.shape[:2], None, start)

    def _unknown_as_ignored(self, l_f: np.ndarray, p_warped: torch.Tensor) -> np.ndarray:
        """L_F with the ignore label where P_warped carries no class, so the IAM hands them to the Refiner.

        Those pixels came from outside the frame at an earlier warp-only step of the cycle: the
        labels there hold the replicated edge (``label_border``), P holds zeros
        (``probability_border``), and eq. 3.4 with M = 0 would give P_refined = 0 and class 0.
        """
        unknown = (p_warped.sum(0) < 0.5).numpy()
        if not unknown.any():
            return l_f
        marked = l_f.copy()
        marked[unknown] = self.config.ignore_label
        return marked

    def _step(self, frame: _Frame, state: PropagationState | None,
              backend: _Backend) -> tuple[SegmentationOutput, PropagationState]:
        """Frame t from the state of t-1 (evs_reference §2.3); see the module docstring."""
        cfg, schedule = self.config, self.config.schedule
        size = frame.image.shape[:2]
        info: dict[str, Any] = {"frame_index": frame.number,
                                "keyframe": False, "forced_keyframe": False, "refined": False}
        timer = _Timer(info)
        offset = None if state is None else state.since_key + 1
        key = state is None or schedule.is_key(offset)
        warper = l_f = l_bf = None
        if not key and cfg.warp:
            warper = Warper(backend.flow(frame))
            info["flow_s"] = frame.flow_s
            if schedule.refine_now(offset) or schedule.adaptive:
                with timer("iam_s"):
                    l_f, l_bf = self.iam.check(state.labels, warper)
                    info["inconsistent_fraction"] = inconsistent_fraction(
                        inconsistency_map(l_f, l_bf, cfg.ignore_label))
                if schedule.force_key(info["inconsistent_fraction"]):
                    backend.unschedule_key(frame.index - offset + cfg.keyframe_interval)
                    key = info["forced_keyframe"] = True
        features = None
        if key:
            backend.schedule_key(frame.index)
            backend.schedule_key(frame.index + cfg.keyframe_interval)  # lookahead: ICNet overlaps this cycle
            result = backend.key(frame)
            info.update(keyframe=True, mode="key", network_s=result.seconds)
            probs, labels, features, since_key = result.probabilities, result.labels, result.features, 0
            if cfg.keyframe_blend and state is not None:
                warper = warper or Warper(backend.flow(frame))
                info["flow_s"] = frame.flow_s
                with timer("warp_s"):
                    p_warped = warper.tensor(state.probabilities, interpolation=cfg.warp_interpolation,
                                             border=cfg.probability_border)
                with timer("iam_s"):
                    l_f, l_bf = self.iam.check(state.labels, warper)
                    blended = self.iam(l_f, l_bf, probs, p_warped)
                probs, labels = blended.probabilities, blended.labels
                info["inconsistent_fraction"] = blended.inconsistent_fraction
        elif not cfg.warp:
            info["mode"] = "copy"
            probs, labels, features, since_key = state.probabilities, state.labels, state.features, offset
        else:
            since_key = offset
            with timer("warp_s"):
                p_warped = warper.tensor(state.probabilities, interpolation=cfg.warp_interpolation,
                                         border=cfg.probability_border)
                if cfg.refine:
                    features = warper.blocks(state.features, interpolation=cfg.warp_interpolation,
                                             border=cfg.feature_border)
            if schedule.refine_now(offset):
                result = backend.refine(frame, features, p_warped)
                with timer("iam_s"):
                    refined = self.iam(self._unknown_as_ignored(l_f, p_warped), l_bf, result.probabilities, p_warped)
                probs, labels = refined.probabilities, refined.labels
                info.update(refined=True, mode="refine", network_s=result.seconds)
            else:
                with timer("warp_s"):
                    labels = warper.labels(state.labels, border=cfg.label_border, ignore_value=cfg.ignore_label)
                probs = p_warped
                info["mode"] = "warp"
        with timer("upsample_s"):
            full = self._upsample(labels, probs, size)
        new_state = PropagationState(frame.number + 1, size, since_key, probs, labels, features, frame.gray)
        return SegmentationOutput(full, probs, info), new_state


class _StatsCollector:
    def __init__(self) -> None:
        self.counts = {"keyframe": 0, "forced_keyframe": 0, "refined": 0}
        self.latencies: list[float] = []
        self.ready: list[float] = []
        self.first_arrival: float | None = None

    def add(self, output: SegmentationOutput, ready: float) -> None:
        if self.first_arrival is None:
            self.first_arrival = ready - output.info["latency_s"]
        for key in self.counts:
            self.counts[key] += bool(output.info.get(key))
        self.latencies.append(output.info["latency_s"])
        self.ready.append(ready - self.first_arrival)

    def result(self) -> RunStats:
        return RunStats(len(self.ready), self.counts["keyframe"], self.counts["forced_keyframe"],
                        self.counts["refined"], self.ready[-1] if self.ready else 0.0, self.latencies, self.ready)


class _SerialBackend:
    """Everything inline in the caller's thread (``threaded=False``)."""

    def __init__(self, pipeline: EVSPipeline) -> None:
        self.pipeline = pipeline
        self._flow = FlowEstimator(pipeline.config.flow_method, pipeline.config.flow_scale)

    def flow(self, frame: _Frame) -> np.ndarray:
        start = time.perf_counter()
        flow = self._flow.flow(frame.prev_gray, frame.gray)
        frame.flow_s = time.perf_counter() - start
        return flow

    def schedule_key(self, index: int) -> None:
        pass

    def unschedule_key(self, index: int) -> None:
        pass

    def key(self, frame: _Frame) -> _NetResult:
        return self.pipeline._run_key(frame)

    def refine(self, frame: _Frame, features: list[np.ndarray], p_warped: torch.Tensor) -> _NetResult:
        return self.pipeline._run_refine(frame, features, p_warped)


class _Stopped(Exception):
    """Raised inside a worker when the run is stopping (never leaves the pipeline)."""


_END = object()


class _StopItem(tuple):
    """Queue sentinel that wakes a blocked thread; sorts first in the network's priority queue."""


_STOP_ITEM = _StopItem((-1, -1, None))


class _Job:
    """A network job; the sequencer waits on ``future``; a cancelled job is skipped."""

    def __init__(self, run: Callable[[], _NetResult]) -> None:
        self.run = run
        self.future: Future = Future()
        self.cancelled = False


class _ThreadedRun:
    """The threads of one :meth:`EVSPipeline.run` call and the queues between them."""

    def __init__(self, pipeline: EVSPipeline, frames: Iterable[np.ndarray], state: PropagationState | None) -> None:
        self.pipeline = pipeline
        self.config = pipeline.config
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
        self._arrived: dict[int, _Frame] = {}
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
            frame = self.pipeline._intake(index, image, state, prev_gray, size)
            size = image.shape[:2]
            scheduled_key = index >= first_key and (index - first_key) % cfg.keyframe_interval == 0
            if cfg.warp and prev_gray is not None and (schedule.adaptive or cfg.keyframe_blend or not scheduled_key):
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
            output, state = self.pipeline._step(frame, state, self)
            with self._lock:
                self._arrived.pop(frame.index, None)
                self._key_jobs.pop(frame.index, None)
            ready = time.perf_counter()
            output.info["latency_s"] = ready - frame.arrival
            self.results.put((output, state, ready))

    # ---------------------------------------------------------------- backend for EVSPipeline._step

    def _submit_key(self, frame: _Frame) -> _Job:
        job = _Job(lambda: self.pipeline._run_key(frame))
        self._key_jobs[frame.index] = job
        self.net_jobs.put((frame.index, next(self._sequence), job))
        return job

    def flow(self, frame: _Frame) -> np.ndarray:
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

    def key(self, frame: _Frame) -> _NetResult:
        with self._lock:
            job = self._key_jobs.get(frame.index) or self._submit_key(frame)
        return self._wait(job.future)

    def refine(self, frame: _Frame, features: list[np.ndarray], p_warped: torch.Tensor) -> _NetResult:
        job = _Job(lambda: self.pipeline._run_refine(frame, features, p_warped))
        self.net_jobs.put((frame.index, next(self._sequence), job))
        return self._wait(job.future)
