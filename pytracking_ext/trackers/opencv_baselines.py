"""Baseline trackers wrapping OpenCV's classic trackers (no model files needed).

``opencv_mil`` wraps ``cv2.TrackerMIL``. With ``params.predict_mask`` the wrapper also outputs a
segmentation: the initial mask (or the filled initial box) moved and scaled with the tracked box,
a deliberately simple reference point for mask trackers on VOS benchmarks.

OpenCV's MIL (5.1) draws its samples from the C library's ``rand()``, whose state every earlier
tracker in the process moved on: the same sequence gave different boxes depending on what ran
before it (issue 20, item 6). ``initialize`` therefore seeds both the C generator (``srand``,
through ctypes) and OpenCV's own (``cv2.setRNGSeed``, for the other algorithms) with
``params.rng_seed`` (default 0) plus the run id, so ``--runid`` runs still differ.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from ..errors import TrackerInputError
from ..utils.boxes import box_to_mask, clip_box, mask_to_bbox, validate_init_box
from .base import BaseTracker
from .params import TrackerParams

# OpenCV tracker factories that need no external model file, by our tracker name.
OPENCV_FACTORIES: dict[str, Callable[[], Any]] = {
    name: getattr(cv2, attr)
    for name, attr in {"mil": "TrackerMIL_create", "kcf": "TrackerKCF_create", "csrt": "TrackerCSRT_create"}.items()
    if hasattr(cv2, attr)
}

#: OpenCV's MIL never returns from ``init`` on a box narrower than 5 pixels (opencv 5.1: 4x4, 2x6 and
#: 1x40 boxes loop forever; 5x5 boxes anywhere in the image work), so smaller boxes are refused.
MIN_BOX_SIDE = 5


def rng_seed(params: TrackerParams) -> int:
    """OpenCV's seed for one sequence: ``params.rng_seed`` (default 0) plus the run id (0 without one)."""
    return int(params.get("rng_seed", 0)) + int(params.get("run_id", None) or 0)


def _c_library() -> Any:
    """The process's C library (for ``srand``), or None where ctypes cannot open it."""
    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):  # Windows has no "the process's symbols" handle; rand() then stays unseeded
        return None


_LIBC = _c_library()


def seed_generators(seed: int) -> None:
    """Seed OpenCV's generator and the C library's ``rand()`` (which MIL samples from) with ``seed``."""
    cv2.setRNGSeed(seed)
    if _LIBC is not None and hasattr(_LIBC, "srand"):
        _LIBC.srand(ctypes.c_uint(seed))


class OpenCVTracker(BaseTracker):
    """A cv2 tracker behind PyTracking's contract; ``params.opencv_tracker`` names the algorithm."""

    multiobj_mode = "parallel"

    def __init__(self, params: TrackerParams) -> None:
        super().__init__(params)
        algorithm = params.get("opencv_tracker", "mil")
        if algorithm not in OPENCV_FACTORIES:
            raise TrackerInputError(
                f"OpenCV tracker '{algorithm}' is not available in this OpenCV build; "
                f"available: {', '.join(sorted(OPENCV_FACTORIES))}"
            )
        self._factory = OPENCV_FACTORIES[algorithm]

    def predicts_segmentation_mask(self) -> bool:
        return bool(self.params.get("predict_mask", False))

    def initialize(self, image: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        shape = image.shape[:2]
        init_mask = info.get("init_mask")
        box = info.get("init_bbox")
        if box is None and init_mask is not None:
            box = mask_to_bbox(init_mask, empty=None)
        box = validate_init_box(box, shape)
        pixels = tuple(int(round(v)) for v in clip_box(box, shape))
        if min(pixels[2:]) < MIN_BOX_SIDE:
            raise TrackerInputError(
                f"init box {pixels[2]}x{pixels[3]} (inside the image) is too small for the OpenCV "
                f"baseline: at least {MIN_BOX_SIDE}x{MIN_BOX_SIDE} pixels"
            )
        seed_generators(rng_seed(self.params))
        self._tracker = self._factory()
        self._tracker.init(self._to_bgr(image), pixels)
        self._box = box
        self._init_box = box
        if init_mask is not None:
            self._init_mask = (np.asarray(init_mask) > 0).astype(np.uint8)
            if self._init_mask.shape != shape:
                raise TrackerInputError(f"init_mask has shape {self._init_mask.shape}, image is {shape}")
        else:
            self._init_mask = box_to_mask(box, shape)
        out: dict[str, Any] = {"target_bbox": box, "object_presence_score": 1.0}
        if self.predicts_segmentation_mask():
            out["segmentation"] = self._init_mask.copy()
        return out

    def track(self, image: np.ndarray, info: dict[str, Any] | None = None) -> dict[str, Any]:
        found, box = self._tracker.update(self._to_bgr(image))
        if found and box[2] > 0 and box[3] > 0:
            self._box = [float(v) for v in box]
        out: dict[str, Any] = {"target_bbox": list(self._box), "object_presence_score": 1.0 if found else 0.0}
        if self.predicts_segmentation_mask():
            out["segmentation"] = self._move_mask(image.shape[:2])
        return out

    def _move_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """The initial mask under the scale and translation that map the initial box to the current one."""
        x0, y0, w0, h0 = self._init_box
        x1, y1, w1, h1 = self._box
        sx, sy = w1 / w0, h1 / h0
        matrix = np.array([[sx, 0.0, x1 - sx * x0], [0.0, sy, y1 - sy * y0]], dtype=np.float64)
        return cv2.warpAffine(
            self._init_mask,
            matrix,
            (shape[1], shape[0]),
            flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )

    @staticmethod
    def _to_bgr(image: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(image[:, :, ::-1])


class OpenCVMILTracker(OpenCVTracker):
    """``cv2.TrackerMIL`` (multiple-instance learning, Babenko et al.)."""
