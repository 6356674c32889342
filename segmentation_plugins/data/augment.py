"""Training-time augmentation of a clip sample, identical for every frame of the clip and its labels.

Order: random scale -> random crop (to ``crop_size``) -> horizontal flip -> small translation.
Image pixels uncovered by a crop or shift are filled with ``image_fill`` (0), label pixels with
``label_fill`` (255 = ignore), so the loss never sees invented classes.

LMANet (docs/lmanet.md §2): ``ClipAugment(flip_prob=0.5, max_shift=2)``. EVS Refiner
(docs/evs.md §7): ``ClipAugment(flip_prob=0.5, max_shift=0, scale_range=(0.5, 2.0),
crop_size=(w, h))``; the applied parameters are stored in ``sample["augment"]``
(``flip``, ``shift`` = (dx, dy), ``scale``, ``crop`` = (x0, y0, w, h) in the scaled frame) for
code that must transform flows the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .clips import Sample, Size, check_size
from .labels import IGNORE_INDEX


@dataclass(frozen=True)
class AugmentParams:
    """One draw of the random choices of :class:`ClipAugment`."""

    flip: bool = False
    shift: tuple[int, int] = (0, 0)  # (dx, dy): content moves right/down for positive values
    scale: float = 1.0
    crop: tuple[int, int, int, int] | None = None  # (x0, y0, width, height) in the scaled frame

    def as_dict(self) -> dict:
        """Plain numbers/arrays, so torch's default collate can batch them."""
        crop = self.crop if self.crop is not None else (0, 0, 0, 0)
        return {
            "flip": bool(self.flip),
            "shift": np.asarray(self.shift, dtype=np.int64),
            "scale": float(self.scale),
            "crop": np.asarray(crop, dtype=np.int64),
        }


def window(array: np.ndarray, x0: int, y0: int, width: int, height: int, fill: float, y_axis: int) -> np.ndarray:
    """The ``width x height`` window at ``(x0, y0)`` of ``array`` (``y_axis``, ``y_axis + 1`` = rows, columns).

    Parts of the window outside ``array`` hold ``fill``; a negative ``x0``/``y0`` pads on that side.
    """
    y_axis %= array.ndim
    shape = list(array.shape)
    in_h, in_w = shape[y_axis], shape[y_axis + 1]
    shape[y_axis], shape[y_axis + 1] = height, width
    out = np.full(shape, fill, dtype=array.dtype)
    sx0, sy0 = max(x0, 0), max(y0, 0)
    sx1, sy1 = min(x0 + width, in_w), min(y0 + height, in_h)
    if sx1 > sx0 and sy1 > sy0:
        src = [slice(None)] * array.ndim
        dst = [slice(None)] * array.ndim
        src[y_axis], src[y_axis + 1] = slice(sy0, sy1), slice(sx0, sx1)
        dst[y_axis], dst[y_axis + 1] = slice(sy0 - y0, sy1 - y0), slice(sx0 - x0, sx1 - x0)
        out[tuple(dst)] = array[tuple(src)]
    return out


def _resize_stack(array: np.ndarray, size: Size, interpolation: int, y_axis: int) -> np.ndarray:
    """Resize every 2-D (or HxWxC) slice of a stack whose rows are at ``y_axis``."""
    y_axis %= array.ndim
    lead = array.shape[:y_axis]
    flat = array.reshape((-1,) + array.shape[y_axis:])
    dtype = array.dtype
    work = flat.astype(np.uint8) if dtype == np.int64 else flat  # cv2 has no int64 resize; ids fit in uint8
    resized = np.stack([cv2.resize(item, size, interpolation=interpolation) for item in work])
    return resized.astype(dtype, copy=False).reshape(lead + resized.shape[1:])


class ClipAugment:
    """Random flip / translation / scale / crop shared by all frames of a clip sample.

    Applies to ``frames`` ``(L, H, W, 3)`` and to ``label`` ``(H, W)`` and ``labels`` ``(L, H, W)``
    when present. ``scale_range`` = (low, high) draws a uniform scale; ``crop_size`` = (width,
    height) takes a random crop of that size (padded when the scaled frame is smaller).
    """

    def __init__(
        self,
        flip_prob: float = 0.5,
        max_shift: int = 2,
        scale_range: tuple[float, float] | None = None,
        crop_size: Size | None = None,
        image_fill: int = 0,
        label_fill: int = IGNORE_INDEX,
    ) -> None:
        if not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob}")
        if max_shift < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift}")
        if scale_range is not None and not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f"scale_range must be (low, high) with 0 < low <= high, got {scale_range}")
        self.flip_prob = flip_prob
        self.max_shift = int(max_shift)
        self.scale_range = scale_range
        self.crop_size = check_size(crop_size)
        self.image_fill = image_fill
        self.label_fill = label_fill

    def sample_params(self, rng: np.random.Generator, frame_size: Size) -> AugmentParams:
        """Draw the random choices for a clip whose frames are ``frame_size`` = (width, height)."""
        scale = float(rng.uniform(*self.scale_range)) if self.scale_range is not None else 1.0
        crop = None
        if self.crop_size is not None:
            width, height = (max(1, round(v * scale)) for v in frame_size)
            crop_w, crop_h = self.crop_size
            # Larger frame: crop inside it; smaller frame: place it randomly inside the padded window.
            x0 = int(rng.integers(min(0, width - crop_w), max(0, width - crop_w) + 1))
            y0 = int(rng.integers(min(0, height - crop_h), max(0, height - crop_h) + 1))
            crop = (x0, y0, crop_w, crop_h)
        flip = bool(rng.random() < self.flip_prob)
        shift = tuple(int(v) for v in rng.integers(-self.max_shift, self.max_shift + 1, size=2))
        return AugmentParams(flip, shift, scale, crop)

    def apply(self, sample: Sample, params: AugmentParams) -> Sample:
        """``sample`` transformed by ``params`` (a new dict; ``augment`` records the parameters)."""
        out = dict(sample)
        out["frames"] = self._transform(np.asarray(sample["frames"]), params, self.image_fill, cv2.INTER_LINEAR, -3)
        for key in ("label", "labels"):
            if key in sample:
                out[key] = self._transform(np.asarray(sample[key]), params, self.label_fill, cv2.INTER_NEAREST, -2)
        out["augment"] = params.as_dict()
        return out

    def __call__(self, sample: Sample, rng: np.random.Generator | None = None) -> Sample:
        """Augment with fresh random choices; without ``rng`` the seed comes from torch's generator,
        so ``torch.manual_seed`` and DataLoader worker seeding make runs reproducible."""
        if rng is None:
            import torch

            rng = np.random.default_rng(int(torch.randint(0, 2**63 - 1, ()).item()))
        height, width = np.asarray(sample["frames"]).shape[-3:-1]
        return self.apply(sample, self.sample_params(rng, (width, height)))

    @staticmethod
    def _transform(array: np.ndarray, params: AugmentParams, fill: int, interpolation: int, y_axis: int) -> np.ndarray:
        y_axis %= array.ndim
        height, width = array.shape[y_axis], array.shape[y_axis + 1]
        if params.scale != 1.0:
            size = (max(1, round(width * params.scale)), max(1, round(height * params.scale)))
            array = _resize_stack(array, size, interpolation, y_axis)
            height, width = array.shape[y_axis], array.shape[y_axis + 1]
        if params.crop is not None:
            x0, y0, width, height = params.crop
            array = window(array, x0, y0, width, height, fill, y_axis)
        if params.flip:
            array = np.flip(array, axis=y_axis + 1)
        dx, dy = params.shift
        if dx or dy:
            array = window(array, -dx, -dy, width, height, fill, y_axis)
        return np.ascontiguousarray(array)


__all__ = ["AugmentParams", "ClipAugment", "window"]
