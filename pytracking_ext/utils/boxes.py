"""Box and mask conversions with one convention: ``[x, y, w, h]``, inclusive pixel extent.

A mask's box spans its foreground pixels inclusively: ``w = x_max - x_min + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import TrackerInputError

EMPTY_BOX = (0.0, 0.0, 1.0, 1.0)


def mask_to_bbox(mask: np.ndarray, empty: Sequence[float] | None = EMPTY_BOX) -> list[float] | None:
    """Tight box of the non-zero pixels of ``mask``; ``empty`` (default ``[0,0,1,1]``) when there are none."""
    mask = np.asarray(mask)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None if empty is None else [float(v) for v in empty]
    cols = np.flatnonzero(mask.any(axis=0))
    x0, x1, y0, y1 = cols[0], cols[-1], rows[0], rows[-1]
    return [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]


def box_pixel_bounds(box: Sequence[float], shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (end exclusive) of the pixels whose centres lie in ``box``, clipped to ``shape``.

    None when no pixel is covered (a box outside the image or thinner than a pixel).
    """
    h, w = shape
    x, y, bw, bh = (float(v) for v in box)
    x0, y0 = max(0, int(np.ceil(x - 0.5))), max(0, int(np.ceil(y - 0.5)))
    x1, y1 = min(w, int(np.ceil(x + bw - 0.5))), min(h, int(np.ceil(y + bh - 0.5)))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def box_to_mask(box: Sequence[float], shape: tuple[int, int]) -> np.ndarray:
    """Filled-box ``uint8`` mask of ``shape`` (H, W) covering the pixels whose centres lie in ``box``."""
    mask = np.zeros(shape, dtype=np.uint8)
    bounds = box_pixel_bounds(box, shape)
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        mask[y0:y1, x0:x1] = 1
    return mask


def polygon_to_box(polygon: Sequence[float]) -> list[float]:
    """Axis-aligned box of a polygon ``x1,y1,x2,y2,...`` (min/max of the corners, 'union')."""
    pts = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def box_is_valid(box: Sequence[float]) -> bool:
    """True when the box is finite and has positive width and height."""
    b = np.asarray(box, dtype=np.float64)
    return b.shape == (4,) and bool(np.all(np.isfinite(b))) and b[2] > 0 and b[3] > 0


def clip_box(box: Sequence[float], shape: tuple[int, int]) -> list[float]:
    """Intersect ``box`` with the image of ``shape`` (H, W); may return a zero-size box."""
    h, w = shape
    x, y, bw, bh = (float(v) for v in box)
    x0, y0 = min(max(x, 0.0), w), min(max(y, 0.0), h)
    x1, y1 = min(max(x + bw, 0.0), w), min(max(y + bh, 0.0), h)
    return [x0, y0, x1 - x0, y1 - y0]


# The smallest init box: a box narrower than a pixel may cover no pixel centre at all, so the
# filled-box mask and the trackers' templates would be empty.
MIN_INIT_BOX_SIZE = 1.0


def check_box_size(box: Sequence[float]) -> None:
    """Raise unless ``box`` is finite with positive size of at least ``MIN_INIT_BOX_SIZE`` on each side."""
    if not box_is_valid(box):
        raise TrackerInputError(f"init_bbox {list(box)} is not a finite box with positive width and height")
    w, h = float(box[2]), float(box[3])
    if w < MIN_INIT_BOX_SIZE or h < MIN_INIT_BOX_SIZE:
        size = f"{MIN_INIT_BOX_SIZE:g}x{MIN_INIT_BOX_SIZE:g}"
        raise TrackerInputError(f"init_bbox {list(box)} is too small ({w:g}x{h:g} pixels; the minimum is {size})")


def validate_init_box(box, shape: tuple[int, int]) -> list[float]:
    """Return the init box as floats; raise if it is not finite, outside the image, or too small.

    "Outside" is checked before "too small" so that a tiny box off the image is reported where it is.
    """
    if box is None or len(box) != 4:
        raise TrackerInputError(f"init_bbox must be [x, y, w, h], got {box!r}")
    box = [float(v) for v in box]
    if not box_is_valid(box):
        raise TrackerInputError(f"init_bbox {box} is not a finite box with positive width and height")
    h, w = shape
    clipped = clip_box(box, shape)
    if clipped[2] <= 0 or clipped[3] <= 0:
        raise TrackerInputError(f"init_bbox {box} lies outside the {w}x{h} image")
    check_box_size(box)
    if clipped[2] < MIN_INIT_BOX_SIZE or clipped[3] < MIN_INIT_BOX_SIZE:
        raise TrackerInputError(f"init_bbox {box} lies outside the {w}x{h} image (less than a pixel inside)")
    return box
