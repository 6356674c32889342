"""Building blocks shared by ICNet and the EVS Refiner (docs/evs.md §6.2).

Everything is written from the ICNet description: convolution + batch norm + ReLU units,
ResNet bottlenecks, the summing pyramid pooling of the low-resolution branch and the cascade
feature fusion (CFF) unit with its auxiliary classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import EVSConfigError

ALIGN_CORNERS = False  # PyTorch's half-pixel convention for every bilinear resize


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of an N×C×H×W tensor to ``size`` = (H, W); a no-op when already there."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=ALIGN_CORNERS)


def half_size(x: torch.Tensor) -> tuple[int, int]:
    """Size of a stride-2 3×3 convolution's output (ceil), so halving matches the conv branches."""
    return (x.shape[-2] + 1) // 2, (x.shape[-1] + 1) // 2


@dataclass(frozen=True)
class ICNetConfig:
    """Widths and depths of ICNet.

    ``width`` multiplies every channel count of the released Cityscapes ICNet (1.0 = standard);
    ``blocks`` are the bottleneck counts of the conv2..conv5 stages (ResNet-50: 3, 4, 6, 3; the
    first conv3 block, conv3_1, belongs to the shared half-resolution trunk).
    """

    num_classes: int = 19
    width: float = 1.0
    blocks: tuple[int, int, int, int] = (3, 4, 6, 3)
    ppm_bins: tuple[int, ...] = (1, 2, 3, 6)

    def __post_init__(self) -> None:
        if self.width <= 0:
            raise EVSConfigError(f"ICNet width must be > 0, got {self.width}")
        if len(self.blocks) != 4 or min(self.blocks) < 1:
            raise EVSConfigError(f"ICNet blocks must be 4 counts >= 1 (conv2..conv5), got {self.blocks}")
        if self.num_classes < 1:
            raise EVSConfigError(f"ICNet num_classes must be >= 1, got {self.num_classes}")

    def ch(self, channels: int) -> int:
        """A released channel count scaled by ``width`` (at least 8)."""
        return max(8, int(round(channels * self.width)))

    @property
    def feature_channels(self) -> int:
        """Channels of the low-level (conv3_1) features that EVS warps: 256 at width 1."""
        return self.ch(256)

    @property
    def fusion_channels(self) -> int:
        """Channels out of both CFF units: 128 at width 1."""
        return self.ch(128)


class ConvBNReLU(nn.Sequential):
    """Bias-free convolution, batch norm and (optionally) ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        relu: bool = True,
    ) -> None:
        padding = dilation * (kernel_size - 1) // 2
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False
            ),
            nn.BatchNorm2d(out_channels),
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class Bottleneck(nn.Module):
    """ResNet bottleneck 1×1 → 3×3 (stride, dilation) → 1×1 with a projection shortcut when needed.

    The stride sits on the 3×3 conv (the released Caffe model strides the first 1×1; no weights
    are shared with it, and the 3×3 placement loses no input pixels).
    """

    def __init__(
        self, in_channels: int, mid_channels: int, out_channels: int, stride: int = 1, dilation: int = 1
    ) -> None:
        super().__init__()
        self.reduce = ConvBNReLU(in_channels, mid_channels, 1)
        self.conv = ConvBNReLU(mid_channels, mid_channels, 3, stride=stride, dilation=dilation)
        self.increase = ConvBNReLU(mid_channels, out_channels, 1, relu=False)
        self.shortcut = (
            ConvBNReLU(in_channels, out_channels, 1, stride=stride, relu=False)
            if stride != 1 or in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.increase(self.conv(self.reduce(x))) + self.shortcut(x))


def bottleneck_stage(
    in_channels: int, mid_channels: int, out_channels: int, blocks: int, stride: int = 1, dilation: int = 1
) -> nn.Sequential:
    """``blocks`` bottlenecks; only the first one changes channels or stride."""
    layers = [Bottleneck(in_channels, mid_channels, out_channels, stride, dilation)]
    layers += [Bottleneck(out_channels, mid_channels, out_channels, 1, dilation) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class PyramidPooling(nn.Module):
    """Average pooling to ``bins``×``bins`` grids, each upsampled and *summed* with the input.

    ICNet sums instead of concatenating (unlike PSPNet), so the channel count is unchanged and
    the module has no parameters.
    """

    def __init__(self, bins: tuple[int, ...]) -> None:
        super().__init__()
        self.bins = tuple(bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = tuple(x.shape[-2:])
        out = x
        for b in self.bins:
            out = out + resize(F.adaptive_avg_pool2d(x, b), size)
        return out


class CascadeFeatureFusion(nn.Module):
    """CFF: fuse a coarse map with a map at (about) twice its resolution.

    The coarse map is upsampled to the fine map's size and goes through a 3×3 dilation-2 conv;
    the fine map through a 1×1 conv; both with BN, summed, then ReLU. The auxiliary 1×1
    classifier on the upsampled coarse map provides the cascade label guidance in training.
    """

    def __init__(self, low_channels: int, high_channels: int, out_channels: int, num_classes: int) -> None:
        super().__init__()
        self.low = ConvBNReLU(low_channels, out_channels, 3, dilation=2, relu=False)
        self.high = ConvBNReLU(high_channels, out_channels, 1, relu=False)
        self.aux = nn.Conv2d(low_channels, num_classes, 1)

    def forward(
        self, low: torch.Tensor, high: torch.Tensor, with_aux: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        up = resize(low, tuple(high.shape[-2:]))
        fused = F.relu(self.low(up) + self.high(high))
        return fused, (self.aux(up) if with_aux else None)


class HalfResolutionTrunk(nn.Module):
    """Shared trunk on the half-resolution image: conv1 stem, conv2 stage, conv3_1 → 1/16 of the image.

    Its output is the low-level feature map that EVS warps from frame to frame.
    """

    def __init__(self, cfg: ICNetConfig) -> None:
        super().__init__()
        c = cfg.ch
        self.conv1 = nn.Sequential(
            ConvBNReLU(3, c(32), 3, stride=2),
            ConvBNReLU(c(32), c(32), 3),
            ConvBNReLU(c(32), c(64), 3),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        self.conv2 = bottleneck_stage(c(64), c(32), c(128), cfg.blocks[0])
        self.conv3_1 = Bottleneck(c(128), c(64), c(256), stride=2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = resize(image, half_size(image))
        return self.conv3_1(self.conv2(self.conv1(x)))


class LowResolutionBranch(nn.Module):
    """conv3_1 features halved to 1/32, conv3_2.. conv5 (dilated), pyramid pooling, 1×1 to 256."""

    def __init__(self, cfg: ICNetConfig) -> None:
        super().__init__()
        c = cfg.ch
        _, n3, n4, n5 = cfg.blocks
        # conv3 has n3 - 1 blocks left after the trunk's conv3_1; with n3 == 1 none remain
        self.conv3 = bottleneck_stage(c(256), c(64), c(256), n3 - 1) if n3 > 1 else nn.Identity()
        self.conv4 = bottleneck_stage(c(256), c(128), c(512), n4, dilation=2)
        self.conv5 = bottleneck_stage(c(512), c(256), c(1024), n5, dilation=4)
        self.ppm = PyramidPooling(cfg.ppm_bins)
        self.conv5_4 = ConvBNReLU(c(1024), c(256), 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = resize(features, half_size(features))
        return self.conv5_4(self.ppm(self.conv5(self.conv4(self.conv3(x)))))


class FullResolutionBranch(nn.Sequential):
    """Three 3×3 stride-2 convolutions on the full-resolution image → 64 channels at 1/8."""

    def __init__(self, cfg: ICNetConfig) -> None:
        c = cfg.ch
        super().__init__(
            ConvBNReLU(3, c(32), 3, stride=2),
            ConvBNReLU(c(32), c(32), 3, stride=2),
            ConvBNReLU(c(32), c(64), 3, stride=2),
        )
