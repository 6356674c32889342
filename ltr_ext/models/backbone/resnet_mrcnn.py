"""ResNet in the Mask R-CNN (Caffe2/Detectron) variant that RTS uses (docs/rts.md A.2).

Differences from torchvision's ResNet: the block stride sits in the first 1x1 convolution
("stride in 1x1"), every layer's first block has a projection shortcut (layer1 too, 64 -> 256),
and there is no classifier head. Input: BGR in 0..255 minus the Detectron mean. ``forward``
returns the requested layers by name.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn as nn


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class ResNetLevels(nn.Module):
    """A ResNet body (``conv1``, ``bn1``, ``relu``, ``maxpool``, ``layer1..4``) read out by level."""

    output_layers: list[str]

    def forward(self, x: torch.Tensor, output_layers: Sequence[str] | None = None) -> OrderedDict[str, torch.Tensor]:
        """The requested layers (default: ``self.output_layers``) in network order; stops after the
        deepest requested one."""
        wanted = list(output_layers or self.output_layers)
        out: OrderedDict[str, torch.Tensor] = OrderedDict()
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for name in ("layer1", "layer2", "layer3", "layer4"):
            if len(out) == len(wanted):
                break
            x = getattr(self, name)(x)
            if name in wanted:
                out[name] = x
        return out

    def trainable_parameters(self):
        """Parameters of layer2..layer4 (the stem and layer1 stay frozen, as in RTS)."""
        for name in ("layer2", "layer3", "layer4"):
            yield from getattr(self, name).parameters()


class ResNetMRCNN(ResNetLevels):
    """Stem + four bottleneck layers; ``forward(x, layers)`` returns an OrderedDict of feature maps."""

    def __init__(self, blocks: Sequence[int] = (3, 4, 6, 3), output_layers: Sequence[str] = ("layer3",)) -> None:
        super().__init__()
        self.output_layers = list(output_layers)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = 64
        # output channels per level, for the heads built on top (a plain dict: no state-dict keys)
        self.channels: dict[str, int] = {}
        for index, (count, planes, stride) in enumerate(zip(blocks, (64, 128, 256, 512), (1, 2, 2, 2)), 1):
            out_channels = planes * Bottleneck.expansion
            downsample = nn.Sequential(
                nn.Conv2d(channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )
            layer = [Bottleneck(channels, planes, stride, downsample)]
            channels = out_channels
            layer += [Bottleneck(channels, planes) for _ in range(count - 1)]
            setattr(self, f"layer{index}", nn.Sequential(*layer))
            self.channels[f"layer{index}"] = channels


def resnet50_mrcnn(output_layers: Sequence[str] = ("layer3",)) -> ResNetMRCNN:
    """ResNet-50, Mask R-CNN variant (no pretrained weights are loaded)."""
    return ResNetMRCNN((3, 4, 6, 3), output_layers)
