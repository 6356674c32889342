"""Box-only initialisation for RTS: turn a first-frame box into an object mask.

RTS is initialised with a mask; when a benchmark only gives a box, ``box_to_mask`` derives a seed
mask without a network (methods registered in ``BOX_INIT_METHODS``, compared against the filled
box), and ``refine_box_mask`` lets the tracker improve it with its own first-frame segmentation
(docs/rts.md C.10): fit the segmentation learner to the seed, predict the first frame, keep the
prediction inside the box, re-fit, for a few iterations.

Methods that need the tracker's parameters (a network to load) are registered in
``PARAMETRISED_BOX_INIT_METHODS``: ``'sta'`` runs the release's box-to-mask network STA
(``ltr_ext.models.rts.sta_net``) on the weights named by the parameter ``sta_net``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn as nn

from ...errors import PytrackingError
from ...evaluation.network_loading import (
    NetworkNotFoundError,
    NetworkSpec,
    load_network,
    normalize_patches,
    select_device,
)
from ...utils import boxes
from .geometry import box_to_state, paste_scores, sample_geometry, sample_patch, search_scale

BoxInitMethod = Callable[[np.ndarray, Sequence[float]], np.ndarray]
ParametrisedBoxInitMethod = Callable[[np.ndarray, Sequence[float], Any], np.ndarray]


class BoxInitError(PytrackingError, ValueError):
    """A box-init method cannot run: a missing parameter or weights file (one line, naming it)."""


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


def grabcut_mask(
    image: np.ndarray,
    box: Sequence[float],
    iterations: int = GRABCUT_ITERATIONS,
    max_side: int = GRABCUT_MAX_SIDE,
) -> np.ndarray:
    """GrabCut (rectangle initialisation) restricted to the box, as an ``(H, W) uint8`` 0/1 mask.

    Deterministic (OpenCV's RNG is seeded). Falls back to the filled box for tiny boxes, boxes
    without surrounding background and collapsed results. ``iterations`` and ``max_side`` (the
    longer side of the processed crop) default to the values chosen below the imports.
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
    scale = min(1.0, max_side / max(crop_w, crop_h))
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
        cv2.grabCut(crop, labels, rect, bgd_model, fgd_model, iterations, cv2.GC_INIT_WITH_RECT)
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

# STA crop of the release (docs/rts.md C.1, C.10): 30 x 52 features at stride 16, side sqrt(area of 4x box).
STA_IMAGE_SAMPLE_SIZE = (30 * 16, 52 * 16)
STA_SEARCH_AREA_SCALE = 4.0
# Score given to pixels outside the crop and outside the box before thresholding at 0 (release value).
STA_OUTSIDE_SCORE = -100.0
STA_WEIGHTS_SOURCE = (
    "sta.pth.tar from the RTS model zoo (PyTracking MODEL_ZOO.md, 'RTS (Box)' entry: "
    "https://drive.google.com/drive/folders/1mOSA6HZ80zDu-6R7EOSiW8YwQMlzR5SQ)"
)


def sta_mask(
    net: nn.Module,
    image: np.ndarray,
    box: Sequence[float],
    sample_size: Sequence[int] = STA_IMAGE_SAMPLE_SIZE,
    area_scale: float = STA_SEARCH_AREA_SCALE,
    border_mode: str = "replicate",
    max_scale_change: float | None = None,
    half_pixel_corners: bool = False,
    preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray:
    """The release's STA box initialisation (``STAHelper.predict_mask``, docs/rts.md C.10) with ``net``.

    Crop ``sample_size`` at side ``sqrt(prod(area_scale * box size))`` around the box, call
    ``net(patch (1, 1, 3, h, w), box_in_crop (1, 1, 4))``, take the second (refined) output, paste
    it into the image (``STA_OUTSIDE_SCORE`` outside the crop), set everything outside the box to
    ``STA_OUTSIDE_SCORE`` and threshold at 0. ``preprocess`` maps the RGB 0-255 patch to the
    network's input; the release passes the patch unnormalised (None). Returns ``(H, W) uint8`` 0/1.
    """
    height, width = _check_image(image)
    _box_bounds(box, height, width)  # validates the box
    pos, size = box_to_state(box)
    out_size = torch.tensor(tuple(sample_size), dtype=torch.float32)
    scale = search_scale(size, area_scale, out_size)
    im = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()
    patch, coords = sample_patch(
        im,
        pos,
        scale * out_size,
        list(sample_size),
        mode=border_mode,
        max_scale_change=max_scale_change,
        half_pixel_corners=half_pixel_corners,
    )
    centre, crop_scale = sample_geometry(coords, list(sample_size))
    # the box in crop pixels, [x, y, w, h], from the crop's own centre and scale (release geometry)
    box_centre = (pos - centre) / crop_scale + (out_size - 1) / 2
    box_size = size / crop_scale
    box_in_crop = torch.cat([(box_centre - (box_size - 1) / 2).flip(0), box_size.flip(0)])

    param = next(iter(net.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    patch = preprocess(patch.to(device)) if preprocess is not None else patch.to(device)
    with torch.no_grad():
        _, refined = net(patch[None], box_in_crop.view(1, 1, 4).to(device))
    refined = refined.reshape(-1, *refined.shape[-2:])[0].float().cpu()
    scores = paste_scores(refined, centre, crop_scale, (height, width))

    # The release truncates the box to integers (x0 = int(x), x1 = int(x) + int(w)); a negative corner is
    # clipped here, where the release's negative slice start would blank the wrong side.
    x0, y0, w, h = (int(float(v)) for v in box)
    scores[:, : max(x0, 0)] = STA_OUTSIDE_SCORE
    scores[:, max(x0 + w, 0) :] = STA_OUTSIDE_SCORE
    scores[: max(y0, 0), :] = STA_OUTSIDE_SCORE
    scores[max(y0 + h, 0) :, :] = STA_OUTSIDE_SCORE
    return (scores > 0).numpy().astype(np.uint8)


def _sta_spec(params: Any) -> NetworkSpec:
    value = params.get("sta_net", None) if params is not None else None
    if value is None or value == "":
        raise BoxInitError(
            f"box_init_method='sta' needs the parameter sta_net: the path of {STA_WEIGHTS_SOURCE}, "
            "absolute or under the network_path setting"
        )
    if isinstance(value, (str, Path)):
        return NetworkSpec(str(value))
    if isinstance(value, NetworkSpec):
        return value
    raise BoxInitError(f"parameter sta_net must be a path or a NetworkSpec, got {type(value).__name__}")


def sta_box_mask(image: np.ndarray, box: Sequence[float], params: Any) -> np.ndarray:
    """``'sta'``: :func:`sta_mask` with the network of the parameter ``sta_net`` (loaded once per process,
    strictly) and the crop parameters ``sta_image_sample_size``, ``sta_search_area_scale``,
    ``sta_border_mode``, ``sta_patch_max_scale_change``; ``sta_normalize_input=True`` feeds the network
    the spec's normalisation instead of the release's raw RGB 0-255 patch (docs/rts.md C.10)."""
    spec = _sta_spec(params)
    device = torch.device(params.device) if params.has("device") else select_device(params.get("use_gpu", True))
    try:
        net = load_network(spec, device)
    except NetworkNotFoundError:
        raise BoxInitError(
            f"parameter sta_net: {spec.resolve()}: STA weights not found; download {STA_WEIGHTS_SOURCE}"
        ) from None
    normalize = params.get("sta_normalize_input", False)
    return sta_mask(
        net,
        image,
        box,
        sample_size=tuple(params.get("sta_image_sample_size", STA_IMAGE_SAMPLE_SIZE)),
        area_scale=float(params.get("sta_search_area_scale", STA_SEARCH_AREA_SCALE)),
        border_mode=params.get("sta_border_mode", "replicate"),
        max_scale_change=params.get("sta_patch_max_scale_change", None),
        half_pixel_corners=bool(params.get("crop_half_pixel_corners", False)),
        preprocess=(lambda patch: normalize_patches(patch, spec)) if normalize else None,
    )


PARAMETRISED_BOX_INIT_METHODS: dict[str, ParametrisedBoxInitMethod] = {
    "sta": sta_box_mask,
}


def box_to_mask(image: np.ndarray, box: Sequence[float], method: str = "grabcut", params: Any = None) -> np.ndarray:
    """Initial object mask ``(H, W) uint8`` 0/1 from an RGB ``image`` and a box ``[x, y, w, h]``.

    ``method`` is a key of ``BOX_INIT_METHODS`` or of ``PARAMETRISED_BOX_INIT_METHODS`` (these also
    get the tracker parameters ``params``).
    """
    if method in BOX_INIT_METHODS:
        return BOX_INIT_METHODS[method](image, box)
    if method in PARAMETRISED_BOX_INIT_METHODS:
        return PARAMETRISED_BOX_INIT_METHODS[method](image, box, params)
    known = ", ".join(sorted([*BOX_INIT_METHODS, *PARAMETRISED_BOX_INIT_METHODS]))
    raise ValueError(f"unknown box init method {method!r}; known methods: {known}")


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
