"""Conversions between TraX regions and the ``info``/output dicts of our trackers.

Incoming regions become an :class:`InitRegion` (an ``[x, y, w, h]`` box and, for masks, a full-size
``uint8`` 0/1 mask); tracker outputs become TraX ``Rectangle`` or ``Mask`` regions. Decoders are
looked up by the TraX region type, polygon-to-box conversions by ``params.vot_anno_conversion_type``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TrackerInputError, UnknownNameError
from ..utils.boxes import mask_to_bbox, polygon_to_box
from ..utils.vot_region import make_full_size


@dataclass
class InitRegion:
    """One object's initial state: ``bbox`` ``[x, y, w, h]`` and an optional full-size 0/1 mask."""

    bbox: list[float]
    mask: np.ndarray | None = None


def preserve_area_box(polygon: np.ndarray) -> list[float]:
    """Box centred on the polygon's mean point with the min/max box's aspect and the rotated area.

    The area is that of the rectangle spanned by the first three corners (``|p1-p2| * |p2-p3|``);
    one pixel is added to width and height (PyTracking's 'preserve_area' rule).
    Polygons other than quadrilaterals fall back to the min/max box.
    """
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    x, y, w, h = polygon_to_box(points.ravel())
    if len(points) != 4 or w <= 0 or h <= 0:
        return [x, y, w, h]
    cx, cy = points.mean(axis=0)
    rotated_area = np.linalg.norm(points[0] - points[1]) * np.linalg.norm(points[1] - points[2])
    scale = math.sqrt(rotated_area / (w * h))
    width, height = scale * w + 1.0, scale * h + 1.0
    return [float(cx - width / 2), float(cy - height / 2), float(width), float(height)]


def union_box(polygon: np.ndarray) -> list[float]:
    """The min/max box of the polygon's corners."""
    return polygon_to_box(np.asarray(polygon, dtype=np.float64).ravel())


POLYGON_CONVERSIONS: dict[str, Callable[[np.ndarray], list[float]]] = {
    "union": union_box,
    "preserve_area": preserve_area_box,
}


def polygon_conversion(name: str) -> Callable[[np.ndarray], list[float]]:
    """The polygon-to-box rule called ``name`` (``union`` or ``preserve_area``)."""
    if name not in POLYGON_CONVERSIONS:
        raise UnknownNameError(f"unknown vot_anno_conversion_type '{name}'; known: {', '.join(POLYGON_CONVERSIONS)}")
    return POLYGON_CONVERSIONS[name]


def _decode_rectangle(region, image_size: tuple[int, int], polygon_to_box_fn) -> InitRegion:
    return InitRegion([float(v) for v in region.bounds()])


def _decode_polygon(region, image_size: tuple[int, int], polygon_to_box_fn) -> InitRegion:
    points = np.array([region.get(i) for i in range(region.size())], dtype=np.float64)
    return InitRegion(polygon_to_box_fn(points))


def _decode_mask(region, image_size: tuple[int, int], polygon_to_box_fn) -> InitRegion:
    # The toolkit's mask starts at the image origin once the offset is applied, but may stop
    # short of the image or run past it: pad or crop it to the image.
    mask = make_full_size((region.array(normalize=True) != 0).astype(np.uint8), image_size)
    box = mask_to_bbox(mask, empty=None)
    if box is None:
        raise TrackerInputError("the initial mask region received from the VOT toolkit is empty")
    return InitRegion(box, mask)


REGION_DECODERS: dict[str, Callable[..., InitRegion]] = {
    "rectangle": _decode_rectangle,
    "polygon": _decode_polygon,
    "mask": _decode_mask,
}


def decode_init_region(region, image_size: tuple[int, int], conversion: str = "union") -> InitRegion:
    """Turn a TraX region into an :class:`InitRegion` for an image of ``image_size`` = ``(W, H)``."""
    decoder = REGION_DECODERS.get(region.type)
    if decoder is None:
        raise TrackerInputError(f"cannot initialise from a TraX region of type '{region.type}'")
    return decoder(region, image_size, polygon_conversion(conversion))


def init_info(regions: list[InitRegion], object_ids: list[str] | None, image_shape: tuple[int, int]) -> dict[str, Any]:
    """The ``initialize`` info: single object without ``object_ids``, else per-object boxes and a label mask.

    Objects later in the list win where masks overlap (one label per pixel, as in DAVIS).
    """
    if object_ids is None:
        (region,) = regions
        return {"init_bbox": region.bbox, "init_mask": region.mask}
    info: dict[str, Any] = {
        "init_object_ids": list(object_ids),
        "init_bbox": {oid: r.bbox for oid, r in zip(object_ids, regions)},
    }
    if all(r.mask is not None for r in regions):
        label = np.zeros(image_shape, dtype=np.uint8)
        for oid, region in zip(object_ids, regions):
            label[region.mask != 0] = int(oid)
        info["init_mask"] = label
    return info


def _object_box(output: dict[str, Any], object_id: str | None) -> list[float]:
    box = output.get("target_bbox")
    if object_id is not None and isinstance(box, dict):
        box = box.get(object_id)
    if box is None:
        raise TrackerInputError(
            f"the tracker returned no 'target_bbox'{'' if object_id is None else f' for object {object_id}'}"
        )
    return [float(v) for v in box]


def _object_mask(output: dict[str, Any], object_id: str | None, image_shape: tuple[int, int]) -> np.ndarray:
    segmentation = output.get("segmentation")
    if segmentation is None:
        raise TrackerInputError("a mask tracker returned no 'segmentation'")
    segmentation = np.asarray(segmentation)
    if segmentation.shape != image_shape:
        raise TrackerInputError(
            f"the tracker's segmentation has shape {segmentation.shape}, the image is {image_shape}"
        )
    selected = segmentation != 0 if object_id is None else segmentation == int(object_id)
    return np.ascontiguousarray(selected.astype(np.uint8))


def output_regions(
    output: dict[str, Any], object_ids: list[str] | None, predicts_mask: bool, image_shape: tuple[int, int]
) -> list[tuple[Any, dict[str, str]]]:
    """TraX ``(region, properties)`` pairs for one frame, one per object (in ``object_ids`` order).

    Masks are reported full-size (``uint8`` 0/1 at offset 0, 0); boxes as rectangles. The
    ``confidence`` property is the tracker's ``object_presence_score`` (1.0 when it gives none).
    """
    from trax import Mask, Rectangle

    ids: list[str | None] = [None] if object_ids is None else list(object_ids)
    regions = []
    for oid in ids:
        if predicts_mask:
            region = Mask.create(_object_mask(output, oid, image_shape))
        else:
            region = Rectangle.create(*_object_box(output, oid))
        score = output.get("object_presence_score", 1.0)
        if isinstance(score, dict):
            score = score.get(oid, 1.0)
        regions.append((region, {"confidence": f"{float(score):.6f}"}))
    return regions
