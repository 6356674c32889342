"""Init-frame augmentations of the RTS tracker (docs/rts.md C.3): identity, flip and Gaussian blurs.

Each augmentation transforms an image patch ``(1, C, H, W)`` and then cuts (or replicate-pads) it
to ``output_size`` around its centre displaced by ``shift`` (rows, cols). With ``output_size``
None and a zero shift the patch keeps its size. Builders are found by the key used in the
parameter dict ``clf_augmentation`` (``{'fliplr': True, 'blur': [(3, 1), ...]}``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from .geometry import pad_or_crop

Patch = torch.Tensor


def crop_to_output(patch: Patch, output_size: Sequence[int] | None, shift: Sequence[int] = (0, 0)) -> Patch:
    """Cut/pad ``patch`` to ``output_size`` around its centre moved by ``shift`` (replicate padding)."""
    h, w = patch.shape[-2:]
    pad_h = 0.0 if output_size is None else (output_size[0] - h) / 2
    pad_w = 0.0 if output_size is None else (output_size[1] - w) / 2
    pad = (
        math.floor(pad_w) + int(shift[1]),
        math.ceil(pad_w) - int(shift[1]),
        math.floor(pad_h) + int(shift[0]),
        math.ceil(pad_h) - int(shift[0]),
    )
    if not any(pad):
        return patch
    return pad_or_crop(patch, pad, "replicate")


def gaussian_blur(patch: Patch, sigma: Sequence[float]) -> Patch:
    """Separable Gaussian blur with sigma (rows, cols), taps up to ``ceil(2 sigma)``, zero borders."""
    out = patch
    for dim, s in zip((-2, -1), sigma):
        radius = math.ceil(2 * s)
        taps = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float64) ** 2) / (2 * s**2))
        taps = (taps / taps.sum()).tolist()
        size = out.shape[dim]
        pad = (0, 0, radius, radius) if dim == -2 else (radius, radius)
        padded = F.pad(out, pad)
        # a weighted sum of shifted slices: several times faster than a one-channel conv2d on the CPU
        out = padded.narrow(dim, 0, size) * taps[0]
        for k in range(1, len(taps)):
            out.add_(padded.narrow(dim, k, size), alpha=taps[k])
    return out


@dataclass(frozen=True)
class Augmentation:
    """One init-frame sample: ``transform`` then :func:`crop_to_output`."""

    name: str
    transform: Callable[[Patch], Patch] = lambda patch: patch
    output_size: tuple[int, int] | None = None
    shift: tuple[int, int] = field(default=(0, 0))

    def __call__(self, patch: Patch) -> Patch:
        return crop_to_output(self.transform(patch), self.output_size, self.shift)


def _fliplr(value: Any, output_size) -> list[Augmentation]:
    # The flipped sample keeps the unflipped target box and label (docs/rts.md F.5).
    return [Augmentation("fliplr", lambda p: p.flip(-1), output_size)] if value else []


def _blur(sigmas: Any, output_size) -> list[Augmentation]:
    augs = []
    for sigma in sigmas:
        sigma = (float(sigma), float(sigma)) if isinstance(sigma, (int, float)) else tuple(float(s) for s in sigma)
        augs.append(Augmentation(f"blur{sigma}", lambda p, s=sigma: gaussian_blur(p, s), output_size))
    return augs


def _shift(shifts: Any, output_size) -> list[Augmentation]:
    return [Augmentation(f"shift{tuple(s)}", output_size=output_size, shift=(int(s[0]), int(s[1]))) for s in shifts]


AUGMENTATIONS: dict[str, Callable[[Any, Any], list[Augmentation]]] = {
    "shift": _shift,
    "fliplr": _fliplr,
    "blur": _blur,
}


def build_augmentations(
    spec: dict[str, Any] | None, output_size: tuple[int, int] | None = None, identity_shift: tuple[int, int] = (0, 0)
) -> list[Augmentation]:
    """Identity first (the unaugmented sample is always used), then the augmentations of ``spec``."""
    augs = [Augmentation("identity", output_size=output_size, shift=identity_shift)]
    spec = spec or {}
    unknown = sorted(set(spec) - set(AUGMENTATIONS))
    if unknown:
        raise ValueError(f"unknown init augmentation {unknown[0]!r} (known: {', '.join(sorted(AUGMENTATIONS))})")
    for key, builder in AUGMENTATIONS.items():  # registry order, not dict order: the reference's sample order
        if key in spec:
            augs.extend(builder(spec[key], output_size))
    return augs
