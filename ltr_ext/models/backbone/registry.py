"""The backbone registry: name -> constructor, the input normalisation each expects, packaged weights."""

from __future__ import annotations

import torch.nn as nn

from pytracking_ext.registry import Registry

from .efficientnet_lite import EfficientNetLite0, load_imagenet_weights
from .resnet_mrcnn import ResNetMRCNN
from .resnet_small import ResNet18

LEVELS = ("layer1", "layer2", "layer3", "layer4")
IMAGENET = {"image_format": "rgb", "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}

BACKBONES = Registry("backbone")
# resnet50_mrcnn keeps the default layer order RTSNet has always built it with
BACKBONES.add_all(
    {
        "resnet50_mrcnn": lambda: ResNetMRCNN((3, 4, 6, 3), LEVELS[::-1]),
        "resnet18": lambda: ResNet18(LEVELS),
        "efficientnet_lite0": lambda: EfficientNetLite0(LEVELS),
    }
)
BACKBONE_INPUT = {
    "resnet50_mrcnn": {"image_format": "bgr255", "mean": (102.9801, 115.9465, 122.7717), "std": (1.0, 1.0, 1.0)},
    "resnet18": IMAGENET,
    # (x - 127) / 128 on 0..255 RGB; NetworkSpec has no raw-RGB format, so it is written for 'rgb' (x / 255)
    "efficientnet_lite0": {"image_format": "rgb", "mean": (127 / 255,) * 3, "std": (128 / 255,) * 3},
}
# Backbones with ImageNet weights that come with a pip package (no download at run time).
PRETRAINED = {"efficientnet_lite0": load_imagenet_weights}


def build_backbone(name: str, pretrained: bool = False) -> nn.Module:
    """The backbone registered as ``name``, with its ImageNet weights when ``pretrained``."""
    model = BACKBONES.get(name)()
    if pretrained:
        load_pretrained(name, model)
    return model


def load_pretrained(name: str, model: nn.Module) -> None:
    """Load the packaged ImageNet weights of backbone ``name`` into ``model``."""
    if name not in PRETRAINED:
        raise ValueError(
            f"backbone '{name}' has no packaged pretrained weights; "
            f"backbones with weights: {', '.join(sorted(PRETRAINED))}"
        )
    PRETRAINED[name](model)
