"""The EVS per-frame algorithm: frame t from the state of t-1, whatever runs the steps.

Per-frame procedure (docs/evs.md §2.3), for frame t of a video with operating point (D, S, W, R):

- **key frame** (the first frame, then every S-th frame counted from the last key frame): ICNet
  on the frame downscaled by D; its logits are resized bilinearly to the propagation resolution
  (1/``propagation_stride`` of the frame, 512×256 for 2048×1024, whatever D) and soft-maxed to
  P; L = argmax P; the low-level features F (1/16 of the network input) are kept when R is on.
  With ``keyframe_blend`` (EVS 01: S = 1 with W and R, §9 #13) the IAM blends ICNet's P, used as
  P_refiner, with P warped from t-1; the reading (keyframe_blend.py) also says whether the blend
  or ICNet's own P, L go on to the next frame.
- **propagated frame, W off** (EVS 08/09/11/13): P, L and F of t-1 are copied.
- **propagated frame, W on**: DIS flow F^{t-1→t} on the gray frames (flow.py); P, and F when R
  is on, are warped to t (warp.py). On a frame where the Refiner runs (``refine_every``,
  schedule.py) the IAM's forward-backward check gives (L_F, L_BF), the Refiner runs on the frame
  with the warped F, and the IAM blends (eqs. 3.3-3.4): P, L = P_refined, argmax. Otherwise P is
  the warped P and **L is the previous labels warped with ``label_border``** (see below).
- **adaptive mode** (``adaptive_threshold``, schedule.py): every propagated frame gets the eq. 3.3
  check; above the threshold the frame becomes a key frame (ICNet on it) and the cycle restarts.
- **output**: L (or P) brought to the frame's resolution (``output_upsampling``, upsampling.py),
  plus P at the propagation resolution as ``probabilities``.

Borders of warp-only frames ([D]): pixels whose source lies outside frame t-1 have no
prediction. Warped *labels* use ``label_border`` (``replicate``: the nearest edge label) and are
the output, so a warp-only frame never shows a strip of class 0 ("road") or of 255. Warped
*probabilities* keep ``probability_border`` (``constant`` 0): there, P carries no class at all,
and the IAM of a later refined frame of the cycle counts every pixel without a class as
inconsistent (M = 1: the Refiner fills it, not only the newest border strip); the ``bilinear``
output takes the nearest-upsampled L wherever the upsampled P sums to less than 0.5, so it has no
class-0 strips either. Refined and key frames
have valid P everywhere (the IAM sets M = 1 outside the frame), and L = argmax P there.

Precision: ICNet and the Refiner compute in the dtype of their weights (bf16 when the segmenter's
``precision`` asks for it, ``segmenter.py``). Their inputs are cast to that dtype at the network
boundary and their logits and features back to fp32, so the resize to the propagation resolution,
the softmax, P, L, the warps, the IAM and the output upsampling always run in fp32.

The flows and the network runs come from a :class:`Backend`: serial.py computes them inline,
threaded.py takes them from the threads that computed them ahead.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ...segmenter import SegmentationOutput, check_frame
from ..errors import EVSConfigError, EVSInputError
from ..flow import FlowEstimator
from ..iam import InconsistencyAttention, inconsistency_map, inconsistent_fraction
from ..models.blocks import resize
from ..models.icnet import IMAGE_MEAN_BGR, ICNet
from ..models.refiner import Refiner
from ..warp import Warper, from_blocks, to_blocks
from .config import PipelineConfig
from .keyframe_blend import KEYFRAME_BLENDS, KeyframeInputs
from .state import Frame, NetResult, PropagationState
from .upsampling import OUTPUT_UPSAMPLING


class Backend(Protocol):
    """How :meth:`FrameAlgorithm.step` gets flows and network results (threaded: futures; serial: inline)."""

    def flow(self, frame: Frame) -> np.ndarray: ...

    def schedule_key(self, index: int) -> None: ...

    def unschedule_key(self, index: int) -> None: ...

    def key(self, frame: Frame) -> NetResult: ...

    def refine(self, frame: Frame, features: list[np.ndarray], p_warped: torch.Tensor) -> NetResult: ...


class _Timer:
    """Adds the time spent inside ``with timer('name'):`` to ``info['name']``."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info

    def __call__(self, name: str) -> _Span:
        return _Span(self.info, name)


class _Span:
    def __init__(self, info: dict[str, Any], name: str) -> None:
        self.info, self.name = info, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: Any) -> None:
        self.info[self.name] = self.info.get(self.name, 0.0) + time.perf_counter() - self.start


class FrameAlgorithm:
    """The networks, the IAM and the per-frame steps of one pipeline (see the module docstring).

    ``icnet`` and ``refiner`` are moved to ``device`` and put in eval mode; the Refiner is needed
    only with ``config.refine``.
    """

    def __init__(
        self, icnet: ICNet, config: PipelineConfig, refiner: Refiner | None = None, device: torch.device | str = "cpu"
    ) -> None:
        if config.refine and refiner is None:
            raise EVSConfigError("refine=True needs a Refiner network")
        self.config = config
        self.device = torch.device(device)
        self.icnet = icnet.to(self.device).eval()
        self.refiner = refiner.to(self.device).eval() if refiner is not None else None
        self.iam = InconsistencyAttention(
            config.iam_dilation, config.iam_smoothing, config.iam_smoothing_mode, config.ignore_label
        )
        self._gray = FlowEstimator(config.flow_method, config.flow_scale)  # only its (stateless) prepare()
        self._mean = torch.tensor(IMAGE_MEAN_BGR, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._upsample = OUTPUT_UPSAMPLING.get(config.output_upsampling)
        reading = config.blend_reading
        self._blend = KEYFRAME_BLENDS.get(reading) if reading is not None else None
        self._keep_features = config.refine
        self.dtype = next(p.dtype for p in self.icnet.parameters())  # the networks' compute dtype

    def intake(
        self,
        index: int,
        image: np.ndarray,
        state: PropagationState | None,
        prev_gray: np.ndarray | None,
        size: tuple[int, int] | None = None,
    ) -> Frame:
        """Check a frame as it arrives and compute its gray image at the flow resolution."""
        arrival = time.perf_counter()
        number = (state.frames if state is not None else 0) + index
        check_frame(image, f"EVS frame {number}")
        expected = size or (state.size if state is not None else None)
        if expected is not None and image.shape[:2] != expected:
            raise EVSInputError(
                f"EVS frame {number} is {image.shape[1]}x{image.shape[0]} but the video so far is "
                f"{expected[1]}x{expected[0]}; call reset() before a new video"
            )
        gray = self._gray.prepare(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)) if self.config.warp else None
        return Frame(index, number, image, arrival, gray, prev_gray)

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
        return self._to_network(x - self._mean)

    def _to_network(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` in the networks' dtype (fp32: unchanged; bf16: cast and channels-last)."""
        if self.dtype == torch.float32:
            return x
        return x.to(self.dtype).contiguous(memory_format=torch.channels_last)

    def _to_propagation(
        self, logits: torch.Tensor, size: tuple[int, int], features: torch.Tensor | None, start: float
    ) -> NetResult:
        """Logits (1×C×h×w at 1/4 of the net input) → P (channels-last, CPU), L and feature blocks."""
        # channels-last on the device: the CPU warps take that memory as is (warp.to_blocks), and an
        # argmax over the innermost dimension is ~4x faster on a CPU than over the outermost
        probs = resize(logits, self._propagation_size(size)).softmax(1)[0].permute(1, 2, 0).contiguous()
        labels = probs.argmax(-1).to(torch.uint8)
        blocks = None
        if features is not None:
            blocks = to_blocks(features[0].permute(1, 2, 0).contiguous().cpu().permute(2, 0, 1))
        return NetResult(probs.cpu().permute(2, 0, 1), labels.cpu().numpy(), blocks, time.perf_counter() - start)

    def run_key(self, frame: Frame) -> NetResult:
        """ICNet on ``frame`` (a key frame), brought to the propagation resolution."""
        start = time.perf_counter()
        out = self.icnet(self._network_input(frame.image), with_aux=False)
        features = out.features.float() if self._keep_features else None
        return self._to_propagation(out.logits.float(), frame.image.shape[:2], features, start)

    def run_refine(self, frame: Frame, features: list[np.ndarray], p_warped: torch.Tensor) -> NetResult:
        """The Refiner on ``frame`` with the warped features (and P when it uses it)."""
        start = time.perf_counter()
        x = self._network_input(frame.image)
        f = self._to_network(from_blocks(features).unsqueeze(0).to(self.device))
        extra = self._to_network(p_warped.unsqueeze(0).to(self.device)) if self.refiner.uses_pwarped else None
        out = self.refiner(x, f, extra, with_aux=False)
        return self._to_propagation(out.logits.float(), frame.image.shape[:2], None, start)

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

    def step(
        self, frame: Frame, state: PropagationState | None, backend: Backend
    ) -> tuple[SegmentationOutput, PropagationState]:
        """Frame t from the state of t-1 (docs/evs.md §2.3); see the module docstring."""
        cfg, schedule = self.config, self.config.schedule
        size = frame.image.shape[:2]
        info: dict[str, Any] = {
            "frame_index": frame.number,
            "keyframe": False,
            "forced_keyframe": False,
            "refined": False,
        }
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
                        inconsistency_map(l_f, l_bf, cfg.ignore_label)
                    )
                if schedule.force_key(info["inconsistent_fraction"]):
                    backend.unschedule_key(frame.index - offset + cfg.keyframe_interval)
                    key = info["forced_keyframe"] = True
        features = None
        carried = None  # (P, L) for the next frame when they differ from the output (keyframe_blend.py)
        if key:
            backend.schedule_key(frame.index)
            backend.schedule_key(frame.index + cfg.keyframe_interval)  # lookahead: ICNet overlaps this cycle
            result = backend.key(frame)
            info.update(keyframe=True, mode="key", network_s=result.seconds)
            probs, labels, features, since_key = result.probabilities, result.labels, result.features, 0
            if self._blend is not None and state is not None:
                warper = warper or Warper(backend.flow(frame))
                info["flow_s"] = frame.flow_s
                with timer("warp_s"):
                    p_warped = warper.tensor(
                        state.probabilities, interpolation=cfg.warp_interpolation, border=cfg.probability_border
                    )
                with timer("iam_s"):
                    l_f, l_bf = self.iam.check(state.labels, warper)
                    blended = self._blend(KeyframeInputs(self.iam, l_f, l_bf, probs, labels, p_warped))
                probs, labels = blended.probabilities, blended.labels
                carried = blended.state_probabilities, blended.state_labels
                info["inconsistent_fraction"] = blended.inconsistent_fraction
        elif not cfg.warp:
            info["mode"] = "copy"
            probs, labels, features, since_key = state.probabilities, state.labels, state.features, offset
        else:
            since_key = offset
            with timer("warp_s"):
                p_warped = warper.tensor(
                    state.probabilities, interpolation=cfg.warp_interpolation, border=cfg.probability_border
                )
                if cfg.refine:
                    features = warper.blocks(
                        state.features, interpolation=cfg.warp_interpolation, border=cfg.feature_border
                    )
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
        state_probs, state_labels = carried or (probs, labels)
        new_state = PropagationState(frame.number + 1, size, since_key, state_probs, state_labels, features, frame.gray)
        return SegmentationOutput(full, probs, info), new_state
