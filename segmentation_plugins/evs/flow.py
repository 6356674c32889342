"""Dense optical flow on the CPU for EVS (thesis §3.3.3, §3.4.3; docs/evs.md §3, §8.5, §10).

``flow = FlowEstimator()(frame_prev, frame_cur)`` is the forward flow F^{t-1→t}, an H×W×2
float32 array on the grid of the *previous* frame: ``flow[y, x] = (dx, dy)`` means that pixel
(x, y) of frame t-1 is found at (x + dx, y + dy) in frame t (OpenCV's convention, measured in
docs/evs_cpu.md §3.1). warp.py rescales it to every resolution it is used at.

Methods are looked up by name in :data:`FLOW_METHODS`:

- ``dis``: the thesis setting, DIS with finest scale 2, patch size 8, 12 gradient-descent
  iterations and no variational refinement, set explicitly and read back (it equals OpenCV's
  ULTRAFAST preset, whose patch stride 4 we keep; the thesis gives none);
- ``dis_ultrafast``, ``dis_fast``, ``dis_medium``: OpenCV's presets as shipped;
- ``farneback``: the thesis comparison (2 pyramid levels, 9-pixel window, 15 iterations).

A :class:`FlowEstimator` is not thread-safe: give each worker thread its own. It never changes
``cv2.setNumThreads`` (process-wide; the pipeline decides).
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from pytracking_ext.registry import Registry

from .errors import EVSConfigError, EVSInputError

# thesis §3.4.3.1; patch stride is the ULTRAFAST preset's (not given in the thesis)
THESIS_DIS_SETTINGS = {
    "finest_scale": 2,
    "patch_size": 8,
    "patch_stride": 4,
    "gradient_descent_iterations": 12,
    "variational_refinement_iterations": 0,
}
# setting name -> (getter, setter) of cv2.DISOpticalFlow
_DIS_ACCESSORS = {
    "finest_scale": ("getFinestScale", "setFinestScale"),
    "patch_size": ("getPatchSize", "setPatchSize"),
    "patch_stride": ("getPatchStride", "setPatchStride"),
    "gradient_descent_iterations": ("getGradientDescentIterations", "setGradientDescentIterations"),
    "variational_refinement_iterations": ("getVariationalRefinementIterations", "setVariationalRefinementIterations"),
    "use_mean_normalization": ("getUseMeanNormalization", "setUseMeanNormalization"),
    "use_spatial_propagation": ("getUseSpatialPropagation", "setUseSpatialPropagation"),
}
# thesis §3.4.3.2: "2 layers pyramid, averaging window of 9 pixels and 15 iterations"; the
# polynomial expansion (5, 1.1) is OpenCV's documented choice for that neighbourhood
THESIS_FARNEBACK_SETTINGS = {
    "pyr_scale": 0.5,
    "levels": 2,
    "winsize": 9,
    "iterations": 15,
    "poly_n": 5,
    "poly_sigma": 1.1,
    "flags": 0,
}


class FlowMethod(Protocol):
    """A dense flow algorithm on two uint8 gray images of equal size."""

    name: str

    def calc(self, prev_gray: np.ndarray, cur_gray: np.ndarray) -> np.ndarray: ...

    def settings(self) -> dict: ...


class DISFlow:
    """cv2.DISOpticalFlow from a preset, with optional explicit settings read back after setting.

    One OpenCV object per image size: reusing one at another size after an output buffer was
    passed crashes OpenCV 5.0 (docs/evs_cpu.md §3.4), and we always pass ``None`` anyway.
    """

    def __init__(self, name: str, preset: int, overrides: dict | None = None) -> None:
        self.name = name
        self.preset = preset
        self.overrides = dict(overrides or {})
        unknown = set(self.overrides) - set(_DIS_ACCESSORS)
        if unknown:
            raise EVSConfigError(f"unknown DIS setting(s) {sorted(unknown)}; known: {sorted(_DIS_ACCESSORS)}")
        self._by_size: dict[tuple[int, int], cv2.DISOpticalFlow] = {}
        self._template = self._create()

    def _create(self) -> cv2.DISOpticalFlow:
        dis = cv2.DISOpticalFlow_create(self.preset)
        for key, value in self.overrides.items():
            getattr(dis, _DIS_ACCESSORS[key][1])(value)
        for key, value in self.overrides.items():
            actual = getattr(dis, _DIS_ACCESSORS[key][0])()
            if actual != value:
                raise EVSConfigError(f"OpenCV DIS ignored {key}={value} (reads back {actual})")
        return dis

    def settings(self) -> dict:
        """The settings as OpenCV reports them (getters), not as requested."""
        return {key: getattr(self._template, getter)() for key, (getter, _) in _DIS_ACCESSORS.items()}

    def calc(self, prev_gray: np.ndarray, cur_gray: np.ndarray) -> np.ndarray:
        size = prev_gray.shape[:2]
        dis = self._by_size.get(size)
        if dis is None:
            dis = self._by_size[size] = self._create()
        # DIS asserts contiguous inputs (crops are views); always None as output (see class doc)
        return dis.calc(np.ascontiguousarray(prev_gray), np.ascontiguousarray(cur_gray), None)


class FarnebackFlow:
    """cv2.calcOpticalFlowFarneback with fixed parameters (thesis comparison by default)."""

    def __init__(self, name: str, **settings) -> None:
        self.name = name
        self._settings = {**THESIS_FARNEBACK_SETTINGS, **settings}

    def settings(self) -> dict:
        return dict(self._settings)

    def calc(self, prev_gray: np.ndarray, cur_gray: np.ndarray) -> np.ndarray:
        s = self._settings
        return cv2.calcOpticalFlowFarneback(
            prev_gray,
            cur_gray,
            None,
            s["pyr_scale"],
            s["levels"],
            s["winsize"],
            s["iterations"],
            s["poly_n"],
            s["poly_sigma"],
            s["flags"],
        )


FLOW_METHODS = Registry("flow method")
FLOW_METHODS.add_all(
    {
        "dis": lambda: DISFlow("dis", cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, THESIS_DIS_SETTINGS),
        "dis_ultrafast": lambda: DISFlow("dis_ultrafast", cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST),
        "dis_fast": lambda: DISFlow("dis_fast", cv2.DISOPTICAL_FLOW_PRESET_FAST),
        "dis_medium": lambda: DISFlow("dis_medium", cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
        "farneback": lambda: FarnebackFlow("farneback"),
    }
)


def create_flow_method(name: str) -> FlowMethod:
    """A new flow method object; unknown names raise an error listing the known ones."""
    return FLOW_METHODS.get(name)()


def to_gray(frame: np.ndarray) -> np.ndarray:
    """A uint8 BGR (H×W×3) or gray (H×W) frame as a contiguous uint8 gray image (DIS takes nothing else)."""
    if frame.dtype != np.uint8:
        raise EVSInputError(f"flow input must be uint8 (BGR or gray), got {frame.dtype}")
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 1:
        return np.ascontiguousarray(frame[..., 0])
    raise EVSInputError(f"flow input must be H×W or H×W×3 (BGR), got shape {frame.shape}")


class FlowEstimator:
    """Gray conversion, optional downscaling and one flow method.

    ``scale`` < 1 computes the flow on frames shrunk with INTER_AREA (docs/evs.md §4
    ``flow_scale``; the thesis computes it at full resolution, ``scale=1``). The flow is returned
    at that reduced resolution; warp.py rescales it wherever it is used.
    """

    def __init__(self, method: str = "dis", scale: float = 1.0) -> None:
        if not 0 < scale <= 1:
            raise EVSConfigError(f"flow scale must be in (0, 1], got {scale}")
        self.method = create_flow_method(method)
        self.scale = float(scale)

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        """The gray image at the flow resolution; cache it to use one frame in two flow calls."""
        gray = to_gray(frame)
        if self.scale == 1.0:
            return gray
        h, w = gray.shape
        size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
        return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)

    def flow(self, prev_gray: np.ndarray, cur_gray: np.ndarray) -> np.ndarray:
        """Forward flow F^{prev→cur} (H×W×2 float32, on prev's grid) between two prepared images."""
        if prev_gray.shape != cur_gray.shape or prev_gray.ndim != 2 or prev_gray.dtype != np.uint8:
            raise EVSInputError(
                f"flow needs two uint8 gray images of one size, got {prev_gray.shape} "
                f"{prev_gray.dtype} and {cur_gray.shape} {cur_gray.dtype}"
            )
        return self.method.calc(prev_gray, cur_gray)

    def __call__(self, prev_frame: np.ndarray, cur_frame: np.ndarray) -> np.ndarray:
        """Forward flow between two raw frames (BGR or gray uint8)."""
        return self.flow(self.prepare(prev_frame), self.prepare(cur_frame))
