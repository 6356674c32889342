"""Backbones by name: four feature levels ``layer1..layer4`` at strides 4, 8, 16, 32.

Every backbone has ``forward(x, output_layers) -> OrderedDict`` and a ``channels`` dict;
:data:`BACKBONE_INPUT` says how images must be normalised for it (the fields of the tracker's
``NetworkSpec``).
"""

from __future__ import annotations

from .efficientnet_lite import EfficientNetLite0, load_imagenet_weights
from .registry import BACKBONE_INPUT, BACKBONES, IMAGENET, LEVELS, PRETRAINED, build_backbone, load_pretrained
from .resnet_mrcnn import ResNetMRCNN, resnet50_mrcnn
from .resnet_small import ResNet18

__all__ = [
    "BACKBONES",
    "BACKBONE_INPUT",
    "IMAGENET",
    "LEVELS",
    "PRETRAINED",
    "EfficientNetLite0",
    "ResNet18",
    "ResNetMRCNN",
    "build_backbone",
    "load_imagenet_weights",
    "load_pretrained",
    "resnet50_mrcnn",
]
