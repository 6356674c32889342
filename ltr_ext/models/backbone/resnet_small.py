"""ResNet-18 (torchvision's basic-block ResNet, random init) as a four-level feature extractor."""

from __future__ import annotations

from collections.abc import Sequence

import torchvision

from .resnet_mrcnn import ResNetLevels


class ResNet18(ResNetLevels):
    """Stem + layer1..layer4 (64/128/256/512 channels at strides 4/8/16/32); no classifier."""

    channels = {"layer1": 64, "layer2": 128, "layer3": 256, "layer4": 512}

    def __init__(self, output_layers: Sequence[str] = ("layer3",)) -> None:
        super().__init__()
        self.output_layers = list(output_layers)
        # torchvision's modules with their default random init; weights=None never downloads
        body = torchvision.models.resnet18(weights=None)
        self.conv1, self.bn1, self.relu, self.maxpool = body.conv1, body.bn1, body.relu, body.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = body.layer1, body.layer2, body.layer3, body.layer4
