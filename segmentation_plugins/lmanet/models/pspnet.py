"""PSPNet (Zhao et al.), single scale single crop, with the parameter names of the official LMANet.

Encoder (``encoder.layer0..layer4``): deep-stem ResNet-101 whose layer3 and layer4 are dilated
(2 and 4) instead of strided, so the 2048-channel output is at stride 8. The pyramid pooling
module (``ppm.features.N``) and the classifier (``decoder.cls``) form the decoder; LMANet puts the
memory between the encoder and the PPM. BatchNorm eps is PyTorch's default (1e-5) here, unlike
ERFNet's 1e-3.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_ext.models.backbone import IMAGENET

RESNET101_BLOCKS = (3, 4, 23, 3)
PPM_BINS = (1, 2, 3, 6)
FEATURE_CHANNELS = 2048
# The official PSPNet predicts the 19 Cityscapes classes; the 20th output (ignore) is a constant 0.
CITYSCAPES_CLASSES = 19


class Bottleneck(nn.Module):
    """ResNet bottleneck with the stride (or dilation) in the 3x3 convolution."""

    expansion = 4

    def __init__(
        self, in_channels: int, planes: int, stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


def _layer(in_channels: int, planes: int, blocks: int, stride: int, dilation: int) -> nn.Sequential:
    out_channels = planes * Bottleneck.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
        )
    layers = [Bottleneck(in_channels, planes, stride, dilation, downsample)]
    layers += [Bottleneck(out_channels, planes, 1, dilation) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class PSPEncoder(nn.Module):
    """Frames in [0, 1] -> 2048 channels at stride 8 (``(H - 1) / 8 + 1`` for ``H = 8k + 1``).

    The ResNet was trained on ImageNet-normalised RGB: the encoder normalises its [0, 1] input.
    """

    out_channels = FEATURE_CHANNELS

    def __init__(self, blocks: tuple[int, int, int, int] = RESNET101_BLOCKS) -> None:
        super().__init__()
        # layer0 indices follow the official Sequential(conv1, bn1, relu, conv2, bn2, relu, conv3, bn3, relu, maxpool)
        self.layer0 = nn.Sequential(
            *_conv_bn_relu(3, 64, stride=2),
            *_conv_bn_relu(64, 64),
            *_conv_bn_relu(64, 128),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        self.layer1 = _layer(128, 64, blocks[0], stride=1, dilation=1)
        self.layer2 = _layer(256, 128, blocks[1], stride=2, dilation=1)
        self.layer3 = _layer(512, 256, blocks[2], stride=1, dilation=2)
        self.layer4 = _layer(1024, 512, blocks[3], stride=1, dilation=4)
        self.register_buffer("mean", torch.tensor(IMAGENET["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET["std"]).view(1, 3, 1, 1), persistent=False)

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        x = (frame - self.mean) / self.std
        for layer in (self.layer0, self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        return x


class PPM(nn.Module):
    """Pyramid pooling: per bin, average pool -> 1x1 conv -> BN -> ReLU -> upsample; concat with the input."""

    def __init__(self, in_channels: int = FEATURE_CHANNELS, bins: tuple[int, ...] = PPM_BINS) -> None:
        super().__init__()
        reduced = in_channels // len(bins)
        self.features = nn.ModuleList(
            nn.Sequential(
                nn.AdaptiveAvgPool2d(b),
                nn.Conv2d(in_channels, reduced, 1, bias=False),
                nn.BatchNorm2d(reduced),
                nn.ReLU(inplace=True),
            )
            for b in bins
        )
        self.out_channels = in_channels + reduced * len(bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        return torch.cat(
            [x] + [F.interpolate(f(x), size, mode="bilinear", align_corners=True) for f in self.features], 1
        )


class PSPDecoder(nn.Module):
    """``cls``: 3x3 conv -> BN -> ReLU -> Dropout2d -> 1x1 conv, then bilinear x8 (align_corners).

    The output side is ``(h - 1) * 8 + 1`` for a feature side ``h``, i.e. the input side for the
    official ``8k + 1`` sizes. The 1x1 conv predicts ``predicted`` classes; the remaining
    ``num_classes - predicted`` outputs are constant-0 logits (official: 19 predicted, the
    ignore class 19 appended as zeros).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 2 * FEATURE_CHANNELS,
        predicted: int | None = None,
        dropout: float = 0.1,
        zoom: int = 8,
    ) -> None:
        super().__init__()
        predicted = num_classes if predicted is None else predicted
        if not 1 <= predicted <= num_classes:
            raise ValueError(f"predicted classes must be in 1..{num_classes}, got {predicted}")
        self.num_classes, self.zoom = num_classes, zoom
        self.cls = nn.Sequential(
            nn.Conv2d(in_channels, 512, 3, padding=1, bias=False),
            nn.BatchNorm2d(512),
            nn.ReLU(inplace=True),
            nn.Dropout2d(dropout),
            nn.Conv2d(512, predicted, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        x = self.cls(x)
        if x.shape[1] < self.num_classes:
            x = F.pad(x, (0, 0, 0, 0, 0, self.num_classes - x.shape[1]))
        size = ((height - 1) * self.zoom + 1, (width - 1) * self.zoom + 1)
        return F.interpolate(x, size, mode="bilinear", align_corners=True)
