"""VOT toolkit region text format: rectangles, polygons, RLE masks and special codes.

One region per line, numbers separated by commas (whitespace is tolerated):

* ``x,y,w,h`` - an axis-aligned rectangle;
* ``x1,y1,x2,y2,...`` (an even count >= 6) - a polygon;
* ``m<x0>,<y0>,<w>,<h>,<r1>,<r2>,...`` - a binary ``h x w`` patch whose top-left pixel sits at
  ``(x0, y0)``; the runs alternate 0-run, 1-run, 0-run, ... over the patch in row-major order,
  the first (0-)run possibly being 0. The encoder writes the tight box of the foreground and an
  empty mask as ``m0,0,0,0,0``;
* a single number - a special code (0 unknown, 1 initialisation, 2 failure);
* all ``NaN`` - unknown / target absent.

Sizes are ``(W, H)`` here, as in the VOT toolkit (arrays are ``(H, W)``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DatasetError
from .boxes import mask_to_bbox, polygon_to_box

SPECIAL_CODES = {0: "unknown", 1: "initialization", 2: "failure"}
_SPLIT = re.compile(r"[,\s]+")


def _format_number(value: float) -> str:
    """Integers without a decimal point, other values with up to 4 decimals."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def encode_rectangle(box: Sequence[float]) -> str:
    """``x,y,w,h`` (integers printed without a decimal point)."""
    if len(box) != 4:
        raise ValueError(f"a rectangle needs 4 values, got {len(box)}")
    return ",".join(_format_number(v) for v in box)


def encode_polygon(points: Sequence[float] | np.ndarray) -> str:
    """``x1,y1,x2,y2,...`` from an ``(N, 2)`` array or a flat list (N >= 3)."""
    flat = np.asarray(points, dtype=np.float64).ravel()
    if flat.size < 6 or flat.size % 2:
        raise ValueError(f"a polygon needs an even number (>= 6) of values, got {flat.size}")
    return ",".join(_format_number(v) for v in flat)


def encode_mask(mask: np.ndarray) -> str:
    """RLE text ``m<x0>,<y0>,<w>,<h>,<runs...>`` of the tight foreground box of a 2-D mask."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    box = mask_to_bbox(mask, empty=None)
    if box is None:
        return "m0,0,0,0,0"
    x0, y0, w, h = (int(v) for v in box)
    patch = (mask[y0 : y0 + h, x0 : x0 + w] != 0).ravel()
    # Indices where the value flips; the leading False makes the first run a 0-run.
    flips = np.flatnonzero(np.diff(np.concatenate(([False], patch)).astype(np.int8)))
    edges = np.concatenate(([0], flips, [patch.size]))
    runs = np.diff(edges)
    return "m" + ",".join(str(int(v)) for v in (x0, y0, w, h, *runs))


def _decode_mask_values(values: list[str], image_size: tuple[int, int] | None, where: str) -> np.ndarray:
    try:
        numbers = [int(v) for v in values]
    except ValueError:
        raise DatasetError(f"{where}: mask region has a non-integer value") from None
    if len(numbers) < 4 or min(numbers) < 0:
        raise DatasetError(f"{where}: mask region needs x0,y0,w,h and non-negative runs")
    x0, y0, w, h = numbers[:4]
    runs = numbers[4:]
    if sum(runs) > w * h:
        raise DatasetError(f"{where}: mask runs cover {sum(runs)} pixels but the patch has {w * h}")
    values_per_run = np.arange(len(runs)) % 2  # 0-run, 1-run, ...
    patch = np.repeat(values_per_run.astype(np.uint8), runs)
    patch = np.concatenate((patch, np.zeros(w * h - patch.size, np.uint8))).reshape(h, w)
    if image_size is None:
        width, height = x0 + w, y0 + h
    else:
        width, height = (int(v) for v in image_size)
    full = np.zeros((height, width), np.uint8)
    visible = patch[: max(0, height - y0), : max(0, width - x0)]
    full[y0 : y0 + visible.shape[0], x0 : x0 + visible.shape[1]] = visible
    return full


def decode_region(line: str, image_size: tuple[int, int] | None = None, where: str = "region") -> dict[str, Any]:
    """Parse one region line into a dict with ``kind`` and ``bbox`` (``[x, y, w, h]``).

    ``kind`` is ``'rectangle'`` (``bbox``), ``'polygon'`` (``points`` (N, 2), ``bbox`` = min/max box),
    ``'mask'`` (``mask`` (H, W) uint8 0/1 of ``image_size`` = ``(W, H)``, or of the patch extent from
    the origin when no size is given; ``bbox`` inclusive, ``[0, 0, 0, 0]`` when empty),
    ``'special'`` (``code``; ``bbox`` all NaN) or ``'unknown'`` (all-NaN line; ``bbox`` all NaN).
    ``where`` (e.g. ``"groundtruth.txt line 3"``) prefixes error messages.
    """
    text = line.strip()
    if not text:
        raise DatasetError(f"{where}: empty region line")
    if text[0] in "mM":
        mask = _decode_mask_values([v for v in _SPLIT.split(text[1:]) if v], image_size, where)
        box = mask_to_bbox(mask, empty=(0.0, 0.0, 0.0, 0.0))
        return {"kind": "mask", "mask": mask, "bbox": box}
    try:
        numbers = [float(v) for v in _SPLIT.split(text) if v]
    except ValueError:
        raise DatasetError(f"{where}: cannot parse region {text[:60]!r}") from None
    nan_box = [math.nan] * 4
    if numbers and all(math.isnan(v) for v in numbers):
        return {"kind": "unknown", "bbox": nan_box}
    if len(numbers) == 1:
        code = int(numbers[0])
        if code not in SPECIAL_CODES or numbers[0] != code:
            raise DatasetError(f"{where}: unknown special region code {numbers[0]}")
        return {"kind": "special", "code": code, "bbox": nan_box}
    if len(numbers) == 4:
        return {"kind": "rectangle", "bbox": numbers}
    if len(numbers) >= 6 and len(numbers) % 2 == 0:
        points = np.asarray(numbers, dtype=np.float64).reshape(-1, 2)
        return {"kind": "polygon", "points": points, "bbox": polygon_to_box(numbers)}
    raise DatasetError(f"{where}: a region has 1, 4 or an even number >= 6 of values, got {len(numbers)}")


def make_full_size(mask: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Bring a mask anchored at the image origin to ``image_size`` = ``(W, H)``.

    Smaller masks are padded with zeros on the right/bottom, larger ones cropped there (the VOT
    toolkit sends masks that start at the origin but end wherever the foreground ends).
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    width, height = (int(v) for v in image_size)
    out = np.zeros((height, width), dtype=mask.dtype)
    h, w = min(height, mask.shape[0]), min(width, mask.shape[1])
    out[:h, :w] = mask[:h, :w]
    return out
