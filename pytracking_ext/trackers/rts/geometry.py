"""Geometry of the RTS tracker: target state, search-area crops and pasting scores back.

Conventions (docs/rts.md C.2): ``pos`` is the target centre ``(y, x)`` and ``size`` is ``(h, w)``;
a box ``(x, y, w, h)`` has its centre at ``(y + (h - 1) / 2, x + (w - 1) / 2)``. Crops are
described by their corner coordinates ``(r0, c0, r1, c1)`` in image pixels (end exclusive).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def box_to_state(box: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y, w, h)`` -> centre ``(y, x)`` and size ``(h, w)``."""
    x, y, w, h = (float(v) for v in box)
    return torch.tensor([y + (h - 1) / 2, x + (w - 1) / 2]), torch.tensor([h, w])


def search_scale(size: torch.Tensor, area_scale: float, sample_size: torch.Tensor) -> torch.Tensor:
    """Crop scale for a target of ``size``: side ``sqrt(prod(area_scale * size))`` over the sample side (C.2)."""
    return math.sqrt(float(torch.prod(size * area_scale))) / sample_size.prod().sqrt()


def state_to_box(pos: torch.Tensor, size: torch.Tensor) -> list[float]:
    """Centre ``(y, x)`` and size ``(h, w)`` -> ``[x, y, w, h]``."""
    return [float(pos[1] - (size[1] - 1) / 2), float(pos[0] - (size[0] - 1) / 2), float(size[1]), float(size[0])]


def target_state_from_probabilities(
    prob: torch.Tensor, size_factor: float = 4.0
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Centre of mass and ``size_factor`` x standard deviation of a probability map (C.7).

    Negative values are clamped to 0 first, so ``+-100`` init logits work as well as probabilities.
    Returns None when the map has no spread in one of the axes (keep the previous state then).
    Computed in float32 with the reference's order of reductions, so the crop position (which is
    truncated to whole pixels later) lands on the same pixel.
    """
    p = prob.clamp(min=0).to(torch.float32)
    total = p.sum()
    if not total > 0:
        return None
    rows, cols = p.sum(dim=-1), p.sum(dim=-2)
    ys = torch.arange(p.shape[-2], dtype=torch.float32)
    xs = torch.arange(p.shape[-1], dtype=torch.float32)
    ey, ex = torch.sum(rows * ys) / total, torch.sum(cols * xs) / total
    var_y = torch.sum(rows * (ys - ey) ** 2) / total
    var_x = torch.sum(cols * (xs - ex) ** 2) / total
    if not (var_y > 0 and var_x > 0):
        return None
    return torch.stack([ey, ex]), torch.stack([var_y.sqrt() * size_factor, var_x.sqrt() * size_factor])


def clamp_scale_change(new_scale, old_scale, limits: tuple[float, float] | None):
    """Limit the per-frame scale ratio ``new / old`` to ``limits`` (e.g. (0.8, 1.2)).

    A ratio inside the limits returns ``new_scale`` unchanged (not ``old * ratio``, which may differ
    in the last bit); works on floats and 0-d tensors.
    """
    if limits is None:
        return new_scale
    ratio = new_scale / old_scale
    if ratio < limits[0]:
        return old_scale * limits[0]
    if ratio > limits[1]:
        return old_scale * limits[1]
    return new_scale


#: how many past target scales the lost-target rescaling reads (C.8); the tracker keeps no more
SCALE_HISTORY = 60


def rescaled_search_scale(scales: Sequence[float], not_found_count: int, history: int = SCALE_HISTORY) -> float:
    """Scale to search with while lost (C.8): mean of recent scales not below the last one (float32)."""
    n = max(2, min(30, not_found_count))
    recent = torch.tensor([float(s) for s in scales], dtype=torch.float32)[-history:]
    kept = recent[recent >= recent[-1]][-n:]
    return float(torch.mean(kept))


# Pixels added before truncating a shrunk crop size: far above float32 noise at image sizes (1e-4 at
# 1000 px), far below a pixel.
FITTED_SIZE_SNAP = 1e-2


def fitted_sample_size(
    sample_size: torch.Tensor, image_size: Sequence[int], mode: str = "replicate", max_scale_change: float | None = None
) -> torch.Tensor:
    """The crop size (h, w) that :func:`sample_patch` cuts in ``mode`` from an image of ``image_size``.

    ``'inside'`` / ``'inside_major'`` shrink an oversized crop (see :func:`sample_patch`); other modes
    keep ``sample_size``.
    """
    sample_size = sample_size.to(torch.float32).clone()
    if mode in ("inside", "inside_major"):
        ratio = sample_size / torch.tensor(tuple(image_size), dtype=torch.float32)
        shrink = ratio.max() if mode == "inside" else ratio.min()
        shrink = shrink.clamp(min=1.0, max=max_scale_change if max_scale_change is not None else float("inf"))
        # The shrunk size is truncated to whole pixels (reference behaviour), after a snap: when the
        # crop's aspect is the network input's, the shrunk side is a whole number in exact arithmetic
        # (480 x 576 / 320 = 864), and float32 lands a hair on either side of it depending on rounding
        # noise, so plain truncation cut 863 or 864 pixels at random (docs/rts.md C.9).
        sample_size = torch.floor(sample_size / shrink + FITTED_SIZE_SNAP)
    return sample_size


def sample_patch(
    image: torch.Tensor,
    pos: torch.Tensor,
    sample_size: torch.Tensor,
    output_size: Sequence[int] | None = None,
    mode: str = "replicate",
    max_scale_change: float | None = None,
    is_mask: bool = False,
    half_pixel_corners: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop ``sample_size`` (h, w) pixels centred at ``pos`` and resize to ``output_size``.

    ``image`` is ``(N, C, H, W)``. ``mode``: ``'replicate'`` pads outside pixels by border
    replication; ``'inside'`` shrinks the crop so it fits the image in both axes and shifts it
    inside; ``'inside_major'`` shrinks only until it fits one axis, shifts, and centres (replicating)
    what still overflows. Large crops are first subsampled by an integer stride so the bilinear
    resize never skips pixels badly. Masks use zero padding and nearest-neighbour resizing.
    Returns the patch and the crop corners ``(r0, c0, r1, c1)`` in image pixels.

    ``half_pixel_corners``: the corners are ``pos - (n - 1) / 2`` and ``pos + n / 2 + 1`` in true
    division and the pad amounts are truncated toward zero. That is how the official tracker's
    crop arithmetic (written for integer division) evaluates on current PyTorch, and what its
    published outputs were produced with: a half-pixel corner inside the image adds one pixel to
    the crop (top/left for even ``n``, bottom/right for odd ``n``) and the reported corners keep
    the half pixel. False gives exact integer crops of ``n`` pixels.
    """
    pos = pos.long()  # truncation, as the reference tracker does (callers round where it rounds)
    sample_size = fitted_sample_size(sample_size, image.shape[-2:], mode, max_scale_change)

    stride = 1
    if output_size is not None:
        resize_factor = float((sample_size / torch.tensor(output_size, dtype=torch.float32)).min())
        stride = max(int(resize_factor - 0.1), 1)
    size = sample_size / stride
    source = image
    if stride > 1:
        offset = pos % stride
        pos = torch.div(pos - offset, stride, rounding_mode="floor")
        source = image[..., int(offset[0]) :: stride, int(offset[1]) :: stride]

    crop = torch.clamp(size.round(), min=2).long()
    if half_pixel_corners:
        top_left, bottom_right = pos - (crop - 1) / 2, pos + crop / 2 + 1
    else:
        top_left = pos - torch.div(crop - 1, 2, rounding_mode="floor")
        bottom_right = pos + torch.div(crop, 2, rounding_mode="floor") + 1
    if mode in ("inside", "inside_major"):
        source_size = torch.tensor(source.shape[-2:])
        shift = (-top_left).clamp(min=0) - (bottom_right - source_size).clamp(min=0)
        top_left, bottom_right = top_left + shift, bottom_right + shift
        outside = torch.div(
            (-top_left).clamp(min=0) + (bottom_right - source_size).clamp(min=0), 2, rounding_mode="floor"
        )
        shift = (-top_left - outside) * (outside > 0).to(top_left.dtype)
        top_left, bottom_right = top_left + shift, bottom_right + shift

    height, width = source.shape[-2:]
    pad = (int(-top_left[1]), int(bottom_right[1] - width), int(-top_left[0]), int(bottom_right[0] - height))
    patch = pad_or_crop(source, pad, "constant" if is_mask else "replicate")
    coords = stride * torch.cat([top_left, bottom_right])
    if output_size is None or tuple(patch.shape[-2:]) == tuple(output_size):
        return patch, coords
    if is_mask:
        return F.interpolate(patch, size=tuple(output_size), mode="nearest"), coords
    return F.interpolate(patch, size=tuple(output_size), mode="bilinear", align_corners=False), coords


def pad_or_crop(image: torch.Tensor, pad: tuple[int, int, int, int], mode: str) -> torch.Tensor:
    """``F.pad`` semantics (negative amounts crop), with replicate padding that also works on int maps."""
    left, right, top, bottom = pad
    h, w = image.shape[-2:]
    image = image[..., max(-top, 0) : h - max(-bottom, 0), max(-left, 0) : w - max(-right, 0)]
    grow = (max(left, 0), max(right, 0), max(top, 0), max(bottom, 0))
    if not any(grow):
        return image
    if mode == "constant":
        return F.pad(image, grow)
    # Replicate by index clamping (F.pad's replicate needs float input and limits the pad size).
    rows = (torch.arange(-grow[2], image.shape[-2] + grow[3])).clamp(0, image.shape[-2] - 1)
    cols = (torch.arange(-grow[0], image.shape[-1] + grow[1])).clamp(0, image.shape[-1] - 1)
    return image[..., rows[:, None], cols[None, :]]


def sample_geometry(coords: torch.Tensor, output_size: Sequence[int]) -> tuple[torch.Tensor, float]:
    """Centre ``(y, x)`` and scale of a crop with corners ``coords`` resized to ``output_size`` (C.2).

    The scale is computed in float32, as the reference does, because it sets the pasted size.
    """
    coords = coords.to(torch.float32)
    centre = (coords[:2] + coords[2:] - 1) / 2
    scale = torch.prod((coords[2:] - coords[:2]) / torch.tensor(output_size, dtype=torch.float32)).sqrt()
    return centre, float(scale)


def paste_scores(
    scores: torch.Tensor,
    sample_pos: torch.Tensor,
    sample_scale: float,
    image_shape: Sequence[int],
    fill: float = -100.0,
) -> torch.Tensor:
    """Resize crop scores ``(h, w)`` by ``sample_scale`` and place them in an image-sized map (C.4.7).

    The resize uses ``scale_factor`` (output ``floor(h * s)``) and the top-left corner is
    ``int(centre - size / 2)`` (truncation), as the reference does (docs/rts.md F.14); pixels outside get ``fill``.
    """
    resized = F.interpolate(
        scores[None, None],
        scale_factor=sample_scale,
        mode="bilinear",
        align_corners=False,
        recompute_scale_factor=False,
    )[0, 0]
    rows, cols = resized.shape
    top, left = int(float(sample_pos[0]) - rows / 2), int(float(sample_pos[1]) - cols / 2)
    height, width = image_shape
    out = torch.full((height, width), fill, dtype=scores.dtype)
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + rows, height), min(left + cols, width)
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] = resized[r0 - top : r1 - top, c0 - left : c1 - left]
    return out
