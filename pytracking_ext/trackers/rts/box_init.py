"""Box-only initialisation for RTS: turn a first-frame box into an object mask.

RTS is initialised with a mask; when a benchmark only gives a box, ``box_to_mask`` derives a seed
mask without a network (methods registered in ``BOX_INIT_METHODS``, compared against the filled
box), and ``refine_box_mask`` lets the tracker improve it with its own first-frame segmentation
(docs/rts.md C.10): fit the segmentation learner to the seed, predict the first frame, keep the
prediction inside the box, re-fit, for a few iterations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from ...utils import boxes

BoxInitMethod = Callable[[np.ndarray, Sequence[float]], np.ndarray]

# GrabCut iterations and crop side: on the four DAVIS 2016 first frames of ../shared, one
# iteration on a crop of at most 300 px scored a higher mean J (0.60) than 5 iterations at 400 px
# (0.51) in a sixth of the time; later iterations tend to carve away thin parts (a rider's legs).
# Chosen on those four clips only, so treat it as a sensible default, not a tuned optimum.
GRABCUT_ITERATIONS = 1
# Below this side length (pixels) the colour models have too few samples to be meaningful.
GRABCUT_MIN_SIDE = 8
# A result covering less than this share of the box is treated as a collapse.
GRABCUT_MIN_FILL = 0.10
# The longer side of the processed crop: bounds the cost of large boxes (GrabCut's time grows with
# the pixel count) while keeping enough resolution for thin parts.
GRABCUT_MAX_SIDE = 300
# Context around the box, as a share of its longer side and as a floor in pixels: the pixels
# outside the rectangle are GrabCut's only background samples, so they must exist and should be
# numerous enough to fit the background colour model.
GRABCUT_MARGIN_SHARE = 0.15
GRABCUT_MARGIN_MIN = 8


def _box_bounds(box: Sequence[float], height: int, width: int) -> tuple[int, int, int, int] | None:
    """Inclusive integer bounds ``(x0, y0, x1, y1)`` of the pixels in ``[x, y, w, h]``, or None if empty."""
    if len(box) != 4:
        raise ValueError(f"box must be [x, y, w, h], got {list(box)}")
    if not all(math.isfinite(float(v)) for v in box):
        raise ValueError(f"box must be finite, got {list(box)}")
    if float(box[2]) > 0 and float(box[3]) > 0:
        # A sub-pixel box may cover no pixel centre: an empty init mask leaves RTS nothing to follow.
        boxes.check_box_size(box)
    bounds = boxes.box_pixel_bounds(box, (height, width))
    return None if bounds is None else (bounds[0], bounds[1], bounds[2] - 1, bounds[3] - 1)


def _check_image(image: np.ndarray) -> tuple[int, int]:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be an (H, W, 3) RGB array, got shape {getattr(image, 'shape', None)}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    return image.shape[0], image.shape[1]


def filled_box_mask(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The filled box as an ``(H, W) uint8`` 0/1 mask (all zeros if the box lies outside the image)."""
    height, width = _check_image(image)
    _box_bounds(box, height, width)  # validates the box
    return boxes.box_to_mask(box, (height, width))


def grabcut_mask(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """GrabCut (rectangle initialisation) restricted to the box, as an ``(H, W) uint8`` 0/1 mask.

    Deterministic (OpenCV's RNG is seeded). Falls back to the filled box for tiny boxes, boxes
    without surrounding background and collapsed results.
    """
    height, width = _check_image(image)
    fallback = filled_box_mask(image, box)
    bounds = _box_bounds(box, height, width)
    if bounds is None:
        return fallback
    x0, y0, x1, y1 = bounds
    box_w, box_h = x1 - x0 + 1, y1 - y0 + 1
    # GrabCut collapses on tiny boxes (its colour models get a handful of samples) and an empty or
    # near-empty init mask would make the tracker lose the target in the first frame; the filled
    # box is the safer start there.
    if min(box_w, box_h) < GRABCUT_MIN_SIDE:
        return fallback

    margin = max(GRABCUT_MARGIN_MIN, int(round(GRABCUT_MARGIN_SHARE * max(box_w, box_h))))
    cx0, cy0 = max(x0 - margin, 0), max(y0 - margin, 0)
    cx1, cy1 = min(x1 + margin, width - 1), min(y1 + margin, height - 1)
    crop_w, crop_h = cx1 - cx0 + 1, cy1 - cy0 + 1
    crop = np.ascontiguousarray(image[cy0 : cy1 + 1, cx0 : cx1 + 1, ::-1])  # OpenCV expects BGR

    # A bounded crop keeps the cost independent of the object size, at the price of a blockier
    # boundary on large objects.
    scale = min(1.0, GRABCUT_MAX_SIDE / max(crop_w, crop_h))
    if scale < 1.0:
        small_w, small_h = max(1, round(crop_w * scale)), max(1, round(crop_h * scale))
        crop = cv2.resize(crop, (small_w, small_h), interpolation=cv2.INTER_AREA)
        sx, sy = small_w / crop_w, small_h / crop_h
    else:
        small_w, small_h, sx, sy = crop_w, crop_h, 1.0, 1.0
    rx0 = min(int(math.floor((x0 - cx0) * sx)), small_w - 1)
    ry0 = min(int(math.floor((y0 - cy0) * sy)), small_h - 1)
    rx1 = min(int(math.ceil((x1 - cx0 + 1) * sx)), small_w)
    ry1 = min(int(math.ceil((y1 - cy0 + 1) * sy)), small_h)
    rect = (rx0, ry0, max(1, rx1 - rx0), max(1, ry1 - ry0))
    if rect[2] >= small_w and rect[3] >= small_h:
        # The box covers the whole image: no pixel outside it to learn the background from.
        return fallback

    labels = np.zeros((small_h, small_w), dtype=np.uint8)
    bgd_model = np.zeros((1, 65), dtype=np.float64)
    fgd_model = np.zeros((1, 65), dtype=np.float64)
    # The GMM initialisation uses k-means on OpenCV's RNG; seeding makes the mask reproducible.
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(crop, labels, rect, bgd_model, fgd_model, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        # Raised e.g. when one side has no samples for its colour model (uniform crop, thin margin).
        return fallback
    foreground = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1.0:
        foreground = cv2.resize(foreground, (crop_w, crop_h), interpolation=cv2.INTER_NEAREST)

    mask = np.zeros((height, width), dtype=np.uint8)
    mask[cy0 : cy1 + 1, cx0 : cx1 + 1] = foreground
    # The box is the user's statement of the object's extent; upscaling can leak a pixel past it.
    mask &= fallback
    if int(mask.sum()) < GRABCUT_MIN_FILL * box_w * box_h:
        # Same reason as the tiny-box case: on low-contrast boxes GrabCut may label (almost) all of
        # the box background, and a tracker started from that has nothing to follow.
        return fallback
    return mask


BOX_INIT_METHODS: dict[str, BoxInitMethod] = {
    "box": filled_box_mask,
    "grabcut": grabcut_mask,
}


def box_to_mask(image: np.ndarray, box: Sequence[float], method: str = "grabcut") -> np.ndarray:
    """Initial object mask ``(H, W) uint8`` 0/1 from an RGB ``image`` and a box ``[x, y, w, h]``.

    ``method`` is a key of ``BOX_INIT_METHODS``.
    """
    try:
        func = BOX_INIT_METHODS[method]
    except KeyError:
        known = ", ".join(sorted(BOX_INIT_METHODS))
        raise ValueError(f"unknown box init method {method!r}; known methods: {known}") from None
    return func(image, box)


def refine_box_mask(
    seed: np.ndarray,
    box: Sequence[float],
    predict: Callable[[], np.ndarray],
    fit: Callable[[np.ndarray], None],
    iterations: int,
) -> np.ndarray:
    """Refine a box-init ``seed`` mask with the tracker's own segmentation of the first frame.

    ``predict()`` returns image-sized logits of the learner as currently fitted (to ``seed`` on
    entry); ``fit(mask)`` re-fits it to a mask. Each iteration keeps the positive logits inside the
    box. It stops early when the mask no longer changes, and keeps the last mask when a
    prediction covers less than ``GRABCUT_MIN_FILL`` of the box (a collapse: the learner lost the
    object). Returns an ``(H, W) uint8`` 0/1 mask; the learner is left fitted to it.
    """
    mask = (np.asarray(seed) > 0).astype(np.uint8)
    inside = boxes.box_to_mask(box, mask.shape)
    min_pixels = GRABCUT_MIN_FILL * int(inside.sum())
    for _ in range(max(int(iterations), 0)):
        logits = np.asarray(predict())
        if logits.shape != mask.shape:
            raise ValueError(f"refine_box_mask: prediction has shape {logits.shape}, the mask {mask.shape}")
        refined = ((logits > 0) & (inside > 0)).astype(np.uint8)
        if int(refined.sum()) < min_pixels or np.array_equal(refined, mask):
            break
        mask = refined
        fit(mask)
    return mask
