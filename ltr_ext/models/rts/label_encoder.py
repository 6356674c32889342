"""Mask encoders of RTS: the label encoder E/W (stride 16) and the score encoder H (stride 1).

Both share one topology (keys ``conv_block.0``, ``res1``, ``res2``, ``label_pred.0``,
``samp_w_pred``); the label encoder downsamples by 16 and also predicts sample weights, the
score encoder keeps the size and its sample-weight head is unused (kept so checkpoints load).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlockNoBN(nn.Module):
    """conv 3x3 (stride) -> ReLU -> conv 3x3; shortcut conv 3x3 with bias; add; ReLU."""

    def __init__(self, in_dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_dim, out_dim, 3, stride=stride, padding=1, bias=False)
        self.conv2 = nn.Conv2d(out_dim, out_dim, 3, padding=1, bias=False)
        self.downsample = nn.Conv2d(in_dim, out_dim, 3, stride=stride, padding=1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(F.relu(self.conv1(x))) + self.downsample(x))


class MaskEncoder(nn.Module):
    """``(frames, seq, H, W)`` maps -> encodings (and sample weights) ``(frames, seq, 16, h, w)``."""

    def __init__(self, dims: tuple[int, int, int, int] = (16, 32, 64, 16), stride: int = 2) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(1, dims[0], 3, stride=stride, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(3, stride=stride, padding=1)
        self.res1 = BasicBlockNoBN(dims[0], dims[1], stride)
        self.res2 = BasicBlockNoBN(dims[1], dims[2], stride)
        self.label_pred = nn.Sequential(nn.Conv2d(dims[2], dims[3], 3, padding=1), nn.ReLU())
        self.samp_w_pred = nn.Conv2d(dims[2], dims[3], 3, padding=1)

    def forward(self, maps: torch.Tensor, with_weights: bool = True):
        frames, seq = maps.shape[:2]
        x = self.res2(self.res1(self.pool(self.conv_block(maps.reshape(-1, 1, *maps.shape[-2:])))))
        encoding = self.label_pred(x)
        encoding = encoding.view(frames, seq, *encoding.shape[-3:])
        if not with_weights:
            return encoding
        weights = self.samp_w_pred(x)
        return encoding, weights.view(frames, seq, *weights.shape[-3:])


def label_encoder() -> MaskEncoder:
    """E/W of the segmentation branch (ResidualDS16SW, stride 16)."""
    return MaskEncoder(stride=2)


def score_encoder() -> MaskEncoder:
    """H of the instance branch (ResidualDS16SW_Clf, all strides 1)."""
    return MaskEncoder(stride=1)
