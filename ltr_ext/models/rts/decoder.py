"""The segmentation decoder D of RTS/LWL (docs/rts.md A.7), with the official module names."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..cpu_inference import PrepackedConv2d, conv_relu, register_fused_form
from .bicubic2x import bicubic_upsample2x, conv_of_bicubic_upsample2x

LAYERS = ("layer4", "layer3", "layer2", "layer1")
FEATURE_CHANNELS = {"layer4": 2048, "layer3": 1024, "layer2": 512, "layer1": 256}
WIDTH = {"layer4": 256, "layer3": 128, "layer2": 128, "layer1": 64}


def _conv(cin: int, cout: int, k: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias)


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    return (
        x if tuple(x.shape[-2:]) == tuple(size) else F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    )


class TSE(nn.Module):
    """Target segmentation encoder: reduce the backbone features, join the mask encoding, transform."""

    def __init__(self, feature_channels: int, width: int, score_channels: int) -> None:
        super().__init__()
        self.reduce = nn.Sequential(_conv(feature_channels, width, 1), nn.ReLU(), _conv(width, width, 1))
        both = width + score_channels
        self.transform = nn.Sequential(
            _conv(both, both, 3), nn.ReLU(), _conv(both, both, 3), nn.ReLU(), _conv(both, width, 3), nn.ReLU()
        )

    def forward(self, features: torch.Tensor, scores: torch.Tensor, x: torch.Tensor | None):
        h = self.reduce(features)
        pooled = F.adaptive_avg_pool2d(h, 1) if x is None else x
        scores = _resize(scores, h.shape[-2:])
        if h.is_contiguous(memory_format=torch.channels_last):
            scores = scores.contiguous(memory_format=torch.channels_last)  # so the concatenation stays NHWC
        return self.transform(torch.cat([h, scores], dim=1)), pooled


class RRB(nn.Module):
    """Residual refinement block (BN in the branch)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1x1 = _conv(width, width, 1)
        self.bblock = nn.Sequential(
            _conv(width, width, 3), nn.BatchNorm2d(width), nn.ReLU(), _conv(width, width, 3, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1x1(x)
        return F.relu(h + self.bblock(h))


class FusedRRB(nn.Module):
    """Inference form of :class:`RRB` (BatchNorm folded): the branch's last conv, the add and the ReLU in one call."""

    def __init__(self, block: RRB) -> None:
        super().__init__()
        first, _, _, last = block.bblock
        self.conv1x1 = PrepackedConv2d(block.conv1x1)
        self.first, self.last = PrepackedConv2d(first, relu=True), PrepackedConv2d(last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1x1(x)
        return self.last.add_relu(self.first(h), h)


@register_fused_form(RRB)
def _fused_rrb(block: RRB) -> nn.Module | None:
    kinds = [type(m) for m in block.bblock]
    return FusedRRB(block) if kinds == [nn.Conv2d, nn.Identity, nn.ReLU, nn.Conv2d] else None


class CAB(nn.Module):
    """Channel attention: gate the shallower map by pooled (deeper, shallower), add the deeper map."""

    def __init__(self, width: int, deepest: bool) -> None:
        super().__init__()
        self.deepest = deepest
        self.convreluconv = nn.Sequential(_conv(2 * width, width, 1), nn.ReLU(), _conv(width, width, 1))

    def forward(self, deeper: torch.Tensor, shallower: torch.Tensor) -> torch.Tensor:
        shallow_pool = F.adaptive_avg_pool2d(shallower, 1)
        deep_pool = deeper if self.deepest else F.adaptive_avg_pool2d(deeper, 1)
        attention = torch.sigmoid(self.convreluconv(torch.cat([shallow_pool, deep_pool], dim=1)))
        return shallower * attention + F.interpolate(
            deeper, size=shallower.shape[-2:], mode="bilinear", align_corners=False
        )


class Upsampler(nn.Module):
    """Bicubic x2, conv 3x3 + ReLU, bicubic to the image size, conv 3x3 to one channel."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.conv1 = _conv(width, width // 2, 3)
        self.conv2 = _conv(width // 2, 1, 3)

    def forward(self, x: torch.Tensor, image_size) -> torch.Tensor:
        if not torch.is_grad_enabled():
            return self._forward_inference(x, tuple(image_size))
        x = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
        x = F.relu(self.conv1(x))
        x = F.interpolate(x, size=tuple(image_size), mode="bicubic", align_corners=False)
        return self.conv2(x)

    def _forward_inference(self, x: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
        """The same function with the exact x2 bicubic kernels (several times faster on CPU)."""
        x = conv_relu(self.conv1, bicubic_upsample2x(x))
        if image_size == (2 * x.shape[-2], 2 * x.shape[-1]):
            return conv_of_bicubic_upsample2x(x, self.conv2)
        return self.conv2(F.interpolate(x, size=image_size, mode="bicubic", align_corners=False))


class RTSDecoder(nn.Module):
    """Mask encoding (16 ch at stride 16) + backbone layers 4..1 -> raw mask logits at image size."""

    def __init__(
        self,
        score_channels: int = 16,
        feature_channels: dict[str, int] | None = None,
        widths: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        channels, width = feature_channels or FEATURE_CHANNELS, widths or WIDTH
        self.TSE = nn.ModuleDict({L: TSE(channels[L], width[L], score_channels) for L in LAYERS})
        self.RRB1 = nn.ModuleDict({L: RRB(width[L]) for L in LAYERS})
        self.CAB = nn.ModuleDict({L: CAB(width[L], L == LAYERS[0]) for L in LAYERS})
        self.RRB2 = nn.ModuleDict({L: RRB(width[L]) for L in LAYERS})
        self.proj = nn.ModuleDict(
            {L: nn.Sequential(_conv(width[prev], width[L], 1), nn.ReLU()) for prev, L in zip(LAYERS, LAYERS[1:])}
        )
        self.project = Upsampler(width["layer1"])

    def forward(self, scores: torch.Tensor, features: dict[str, torch.Tensor], image_size) -> torch.Tensor:
        """``scores`` (N, 16, h, w); ``features`` by layer name with batch N -> (N, 1, H, W)."""
        x = None
        for layer in LAYERS:
            if x is not None:
                x = self.proj[layer](x)
            h, pooled = self.TSE[layer](features[layer], _resize(scores, features[layer].shape[-2:]), x)
            x = self.RRB2[layer](self.CAB[layer](pooled, self.RRB1[layer](h)))
        return self.project(x, image_size)
