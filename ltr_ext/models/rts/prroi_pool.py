"""Precise RoI Pooling in plain PyTorch: the exact integral of the bilinear interpolant over each bin.

With the hat kernel ``k(t) = max(0, 1 - |t|)`` centred on integer sample positions (no half-pixel
offset, zero outside the map), the interpolant is separable, so each bin's integral is
``sum_ij F[i, j] * Wy[p, i] * Wx[q, j]`` where ``W`` are differences of the kernel's antiderivative
at the bin bounds. Differentiable with respect to the features; runs on any device.
"""

from __future__ import annotations

import torch


def _hat_integral(t: torch.Tensor) -> torch.Tensor:
    """Antiderivative of the hat kernel, 0 at -inf and 1 at +inf."""
    t = t.clamp(-1.0, 1.0)
    return torch.where(t <= 0, 0.5 * (t + 1) ** 2, 1 - 0.5 * (1 - t) ** 2)


def _weights(start: torch.Tensor, size: torch.Tensor, bins: int, length: int) -> torch.Tensor:
    """(R, bins, length) integral weights of each bin over each sample position."""
    edges = start[:, None] + size[:, None] * torch.arange(bins + 1, dtype=start.dtype, device=start.device)
    positions = torch.arange(length, dtype=start.dtype, device=start.device)
    cumulative = _hat_integral(edges[:, :, None] - positions[None, None, :])
    return cumulative[:, 1:] - cumulative[:, :-1]


def prroi_pool2d(
    features: torch.Tensor, rois: torch.Tensor, output_size: tuple[int, int], spatial_scale: float
) -> torch.Tensor:
    """``features`` (N, C, H, W), ``rois`` (R, 5) as (batch index, x0, y0, x1, y1) -> (R, C, PH, PW)."""
    ph, pw = output_size
    height, width = features.shape[-2:]
    rois = rois.to(features.dtype)
    x0, y0, x1, y1 = (rois[:, i] * spatial_scale for i in range(1, 5))
    bin_w = (x1 - x0).clamp(min=0) / pw
    bin_h = (y1 - y0).clamp(min=0) / ph
    wy = _weights(y0, bin_h, ph, height)  # R, PH, H
    wx = _weights(x0, bin_w, pw, width)  # R, PW, W
    selected = features[rois[:, 0].long()]  # R, C, H, W
    pooled = torch.einsum("rph,rchw,rqw->rcpq", wy, selected, wx)
    area = (bin_h * bin_w)[:, None, None, None]
    return torch.where(area > 0, pooled / area.clamp(min=torch.finfo(features.dtype).tiny), torch.zeros_like(pooled))
