"""Single-frame networks LMANet can wrap, by name: ``erfnet``, ``pspnet``, ``efficientnet_lite0``.

A builder returns the encoder, the decoder stages (named as in the official state dicts: ERFNet
``decoder``; PSPNet ``ppm`` then ``decoder``), the key/value sizes of the memory and a factory for
the fusion module, whose output has the encoder's channel count so the decoder reads either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch.nn as nn

from pytracking_ext.errors import UnknownNameError
from pytracking_ext.registry import Registry

from .efficientnet import EfficientNetLite0Encoder, LightDecoder
from .erfnet import ERFNetDecoder, ERFNetEncoder
from .fusion import DownGatedFusion, GatedFusion
from .pspnet import CITYSCAPES_CLASSES, PPM, PSPDecoder, PSPEncoder


class UnknownBackboneError(UnknownNameError, ValueError):
    """An LMANet backbone name that is not registered (a ValueError for argument checks too)."""


@dataclass
class BackboneParts:
    """What LMANet (or the single-frame baseline) is assembled from."""

    encoder: nn.Module  # frames in [0, 1] -> features; has ``out_channels``
    decoder: dict[str, nn.Module]  # stages run in order, registered under these names
    key_channels: int
    value_channels: int | None  # None: the value is the encoder feature itself
    fusion: Callable[[], nn.Module]  # (query value, memory read) -> encoder-sized features
    input_sides: str  # frame sides for full-resolution logits (documentation)


BACKBONES = Registry("LMANet backbone")
# backbones whose ImageNet weights come with an installed package (pretrained=True without a download)
PACKAGED_WEIGHTS = ("efficientnet_lite0",)


def _without_packaged_weights(name: str, pretrained: bool) -> None:
    if pretrained:
        raise ValueError(
            f"LMANet backbone '{name}' has no packaged pretrained weights (load a checkpoint "
            f"instead); backbones with packaged weights: {', '.join(PACKAGED_WEIGHTS)}"
        )


@BACKBONES.register("erfnet")
def erfnet_parts(num_classes: int, pretrained: bool = False) -> BackboneParts:
    """ERFNet: 128 channels at stride 8, keys 16, values 64 ('sigmoid-do1' fusion back to 128)."""
    _without_packaged_weights("erfnet", pretrained)
    encoder = ERFNetEncoder()
    return BackboneParts(
        encoder,
        {"decoder": ERFNetDecoder(num_classes, encoder.out_channels)},
        16,
        64,
        lambda: GatedFusion(64, encoder.out_channels),
        "multiples of 8",
    )


@BACKBONES.register("pspnet")
def pspnet_parts(
    num_classes: int, pretrained: bool = False, official_fusion: bool = True, predicted_classes: int | None = None
) -> BackboneParts:
    """PSPNet-101: 2048 channels at stride 8, keys 128, the features as values ('sigmoid-down1' fusion).

    ``predicted_classes`` defaults to the official 19 when ``num_classes`` is 20 (the ignore class
    is a constant-0 logit), else to ``num_classes``.
    """
    _without_packaged_weights("pspnet", pretrained)
    if predicted_classes is None:
        predicted_classes = CITYSCAPES_CLASSES if num_classes == CITYSCAPES_CLASSES + 1 else num_classes
    encoder = PSPEncoder()
    ppm = PPM(encoder.out_channels)
    decoder = PSPDecoder(num_classes, ppm.out_channels, predicted_classes)
    return BackboneParts(
        encoder,
        {"ppm": ppm, "decoder": decoder},
        128,
        None,
        lambda: DownGatedFusion(encoder.out_channels, official=official_fusion),
        "8k + 1",
    )


@BACKBONES.register("efficientnet_lite0")
def efficientnet_lite0_parts(num_classes: int, pretrained: bool = False) -> BackboneParts:
    """EfficientNet-Lite0 to stride 16 projected to 128 channels, ERFNet's memory sizes, light decoder."""
    encoder = EfficientNetLite0Encoder(pretrained=pretrained)
    return BackboneParts(
        encoder,
        {"decoder": LightDecoder(num_classes, encoder.out_channels)},
        16,
        64,
        lambda: GatedFusion(64, encoder.out_channels),
        "multiples of 16",
    )


def backbone_parts(name: str, num_classes: int, pretrained: bool = False, **options) -> BackboneParts:
    """Build the parts of backbone ``name``; unknown names list the registered ones."""
    if name not in BACKBONES:
        raise UnknownBackboneError(f"unknown LMANet backbone '{name}'; known: {', '.join(BACKBONES.names())}")
    return BACKBONES.get(name)(num_classes, pretrained, **options)
