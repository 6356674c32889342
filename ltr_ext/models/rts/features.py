"""Branch feature extractors of RTS (docs/rts.md A.3, A.4): a conv on layer3 and InstanceL2Norm."""

from __future__ import annotations

import math

import torch
import torch.nn as nn


class InstanceL2Norm(nn.Module):
    """Scale every sample so its sum of squares is ``scale^2 * C * H * W``."""

    def __init__(self, scale: float, eps: float = 1e-5) -> None:
        super().__init__()
        self.scale, self.eps = scale, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        numel = x.shape[1] * x.shape[2] * x.shape[3]
        energy = (x * x).reshape(x.shape[0], 1, 1, -1).sum(dim=3, keepdim=True)
        return x * (self.scale * torch.sqrt(numel / (energy + self.eps)))


def norm_scale(out_dim: int = 512, filter_size: int = 3) -> float:
    """``sqrt(1 / (out_dim * filter_size^2))``: the scale both branches use (from the seg filter size)."""
    return math.sqrt(1.0 / (out_dim * filter_size * filter_size))


def feature_extractor(
    in_dim: int = 1024, out_dim: int = 512, stride: int = 1, scale: float | None = None
) -> nn.Sequential:
    """conv 3x3 (no bias, ``stride``) then InstanceL2Norm: keys ``0.weight``."""
    return nn.Sequential(
        nn.Conv2d(in_dim, out_dim, 3, stride=stride, padding=1, bias=False),
        InstanceL2Norm(scale if scale is not None else norm_scale(out_dim)),
    )
