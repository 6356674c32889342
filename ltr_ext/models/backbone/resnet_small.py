"""ResNet-18 (torchvision's basic-block ResNet, random init) as a four-level feature extractor."""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn as nn
import torchvision


class ResNet18(nn.Module):
    """Stem + layer1..layer4 (64/128/256/512 channels at strides 4/8/16/32); no classifier."""

    channels = {"layer1": 64, "layer2": 128, "layer3": 256, "layer4": 512}

    def __init__(self, output_layers: Sequence[str] = ("layer3",)) -> None:
        super().__init__()
        self.output_layers = list(output_layers)
        # torchvision's modules with their default random init; weights=None never downloads
        body = torchvision.models.resnet18(weights=None)
        self.conv1, self.bn1, self.relu, self.maxpool = body.conv1, body.bn1, body.relu, body.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = body.layer1, body.layer2, body.layer3, body.layer4

    def forward(self, x: torch.Tensor, output_layers: Sequence[str] | None = None) -> "OrderedDict[str, torch.Tensor]":
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
