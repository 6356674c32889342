"""Search-region crops around jittered boxes and Gaussian classifier labels (docs/conventions.md D.9.3)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import cv2
import numpy as np
import torch


def jitter_box(
    box: torch.Tensor,
    center_factor: float | Sequence[float],
    scale_factor: float,
    scale_mode: str = "normal",
    rng: random.Random | None = None,
) -> torch.Tensor:
    """Jitter ``[x, y, w, h]``: size ``* exp(N(0,1) * f)`` (or ``exp(U(-f, f))``) per axis, centre by
    ``sqrt(w' h') * center_factor * (U(0,1) - 0.5)`` per axis."""
    rng = rng or random
    x, y, w, h = (float(v) for v in box)
    draw = (
        (lambda: rng.gauss(0, 1) * scale_factor)
        if scale_mode == "normal"
        else (lambda: rng.uniform(-scale_factor, scale_factor))
    )
    w2, h2 = w * math.exp(draw()), h * math.exp(draw())
    factors = (center_factor, center_factor) if np.isscalar(center_factor) else tuple(center_factor)
    max_offset = [math.sqrt(w2 * h2) * f for f in factors]
    cx = x + w / 2 + max_offset[0] * (rng.random() - 0.5)
    cy = y + h / 2 + max_offset[1] * (rng.random() - 0.5)
    return torch.tensor([cx - w2 / 2, cy - h2 / 2, w2, h2], dtype=torch.float32)


def crop_rectangle(
    box: Sequence[float],
    image_size: tuple[int, int],
    search_area_factor: float,
    output_size: tuple[int, int],
    crop_type: str = "replicate",
    max_scale_change: float | None = None,
) -> tuple[float, float, float, float]:
    """``(x0, y0, w, h)`` of the crop: aspect of ``output_size`` (w, h), area ``factor^2 * w * h``.

    ``inside`` shrinks it to fit the image in both axes, ``inside_major`` in at least one, then it is
    shifted inside the image (what still overflows is centred); ``replicate`` keeps it as is.
    """
    x, y, w, h = (float(v) for v in box)
    out_w, out_h = output_size
    scale = math.sqrt(max(w * h, 1e-6) / (out_w * out_h)) * search_area_factor
    crop_w, crop_h = out_w * scale, out_h * scale
    cx, cy = x + w / 2, y + h / 2
    img_h, img_w = image_size
    if crop_type in ("inside", "inside_major"):
        ratios = (crop_w / img_w, crop_h / img_h)
        shrink = max(ratios) if crop_type == "inside" else min(ratios)
        shrink = max(1.0, shrink if max_scale_change is None else min(shrink, max_scale_change))
        crop_w, crop_h = crop_w / shrink, crop_h / shrink
        x0 = min(max(cx - crop_w / 2, 0.0), img_w - crop_w) if crop_w <= img_w else (img_w - crop_w) / 2
        y0 = min(max(cy - crop_h / 2, 0.0), img_h - crop_h) if crop_h <= img_h else (img_h - crop_h) / 2
        return x0, y0, crop_w, crop_h
    return cx - crop_w / 2, cy - crop_h / 2, crop_w, crop_h


def crop_and_resize(
    image: np.ndarray, rect: tuple[float, float, float, float], output_size: tuple[int, int], is_mask: bool = False
) -> np.ndarray:
    """Resample ``rect`` of ``image`` to ``output_size`` (w, h): bilinear with replicated borders for
    images, nearest with zero padding for masks."""
    x0, y0, w, h = rect
    out_w, out_h = output_size
    sx, sy = out_w / w, out_h / h
    matrix = np.array([[sx, 0, -x0 * sx + 0.5 * sx - 0.5], [0, sy, -y0 * sy + 0.5 * sy - 0.5]], dtype=np.float64)
    flags = cv2.INTER_NEAREST if is_mask else cv2.INTER_LINEAR
    border = cv2.BORDER_CONSTANT if is_mask else cv2.BORDER_REPLICATE
    return cv2.warpAffine(image, matrix, (out_w, out_h), flags=flags, borderMode=border, borderValue=0)


def box_in_crop(
    box: Sequence[float], rect: tuple[float, float, float, float], output_size: tuple[int, int]
) -> torch.Tensor:
    """Map an image box into the coordinates of the resized crop."""
    x, y, w, h = (float(v) for v in box)
    x0, y0, cw, ch = rect
    sx, sy = output_size[0] / cw, output_size[1] / ch
    return torch.tensor([(x - x0) * sx, (y - y0) * sy, w * sx, h * sy], dtype=torch.float32)


def gaussian_label_function(
    boxes: torch.Tensor,
    sigma_factor: float,
    kernel_size: int | Sequence[int],
    feature_size: Sequence[int],
    image_size: Sequence[int],
    end_pad_if_even: bool = True,
) -> torch.Tensor:
    """Gaussian labels centred on each box (N, 4) in feature coordinates (sizes as (w, h)).

    Centre ``feat_sz * (c - img_sz / 2) / img_sz + 0.5 * ((kernel_sz + 1) % 2)``, sigma
    ``sigma_factor * sqrt(feat_w * feat_h)``; grids grow by one cell per even kernel axis.
    Returns ``(N, H_f (+1), W_f (+1))``.
    """
    boxes = boxes.reshape(-1, 4).float()
    kernel = torch.tensor(
        [kernel_size, kernel_size] if np.isscalar(kernel_size) else list(kernel_size), dtype=torch.float32
    )
    feat = torch.tensor(list(feature_size), dtype=torch.float32)
    img = torch.tensor(list(image_size), dtype=torch.float32)
    centre = boxes[:, :2] + 0.5 * boxes[:, 2:]
    target = feat * (centre - img / 2) / img + 0.5 * ((kernel + 1) % 2)
    sigma = sigma_factor * torch.sqrt(feat.prod())
    pad = ((kernel + 1) % 2) if end_pad_if_even else torch.zeros(2)
    xs = torch.arange(int(feat[0] + pad[0]), dtype=torch.float32) - (feat[0] - 1) / 2
    ys = torch.arange(int(feat[1] + pad[1]), dtype=torch.float32) - (feat[1] - 1) / 2
    gx = torch.exp(-0.5 * ((xs[None] - target[:, :1]) / sigma) ** 2)
    gy = torch.exp(-0.5 * ((ys[None] - target[:, 1:]) / sigma) ** 2)
    return gy[:, :, None] * gx[:, None, :]
