"""Fusion of the query value with the memory read (eq. 4.6), official parameter names.

:data:`FUSIONS` names the choices (``build_lmanet(fusion=...)``, the presets' ``fusion``):
``gated`` (default) is the backbone's attention-gated fusion of eq. 4.6 (thesis Fig. 4.3);
``concat`` is the baseline of thesis Table 4.3 (the release's ``fusion_strategy concat``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from pytracking_ext.errors import UnknownNameError
from pytracking_ext.registry import Registry

from .erfnet import BN_EPS


class GatedFusion(nn.Module):
    """Eq. 4.6: each branch gated by a sigmoid of both, summed, then BN + ReLU (official 'sigmoid-do1')."""

    def __init__(self, channels: int = 64, out_channels: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(channels, eps=BN_EPS)
        self.bn2 = nn.BatchNorm2d(channels, eps=BN_EPS)
        self.dropout = nn.Dropout2d(dropout)
        self.conv_layer_1 = nn.Conv2d(channels, out_channels, 3, padding=1)
        self.conv_layer_2 = nn.Conv2d(channels, out_channels, 3, padding=1)
        self.conv_layer_3 = nn.Conv2d(2 * channels, out_channels, 3, padding=1)
        self.conv_layer_4 = nn.Conv2d(2 * channels, out_channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)

    def forward(self, query_value: torch.Tensor, memory_read: torch.Tensor) -> torch.Tensor:
        q = torch.relu(self.dropout(self.bn1(query_value)))
        m = torch.relu(self.dropout(self.bn2(memory_read)))
        both = torch.cat([q, m], 1)
        out = self.conv_layer_1(q) * torch.sigmoid(self.conv_layer_3(both)) + self.conv_layer_2(m) * torch.sigmoid(
            self.conv_layer_4(both)
        )
        return torch.relu(self.bn(out))


class DownGatedFusion(nn.Module):
    """Official 'sigmoid-down1' (PSPNet): gates computed at 256 channels, applied to the inputs.

    ``d = ReLU(BN0(conv1(q) + conv1(m)))``; ``out = ReLU(BN(q * sigmoid(conv3(d)) + m * sigmoid(conv4(d))))``.
    The official forward reduces the memory read with ``conv_layer_1`` too, so ``conv_layer_2``
    is in the state dict but unused; ``official=False`` uses it for the memory branch instead
    (a model trained that way cannot be compared with the released numbers).
    """

    def __init__(self, channels: int = 2048, reduced: int = 256, official: bool = True) -> None:
        super().__init__()
        self.official = official
        self.bn0 = nn.BatchNorm2d(reduced, eps=BN_EPS)
        self.conv_layer_1 = nn.Conv2d(channels, reduced, 1)
        self.conv_layer_2 = nn.Conv2d(channels, reduced, 1)
        self.conv_layer_3 = nn.Conv2d(reduced, channels, 1)
        self.conv_layer_4 = nn.Conv2d(reduced, channels, 1)
        self.bn = nn.BatchNorm2d(channels, eps=BN_EPS)
        if official:
            # never used by the official forward: keep it out of the optimiser's gradients
            self.conv_layer_2.requires_grad_(False)

    def forward(self, query_value: torch.Tensor, memory_read: torch.Tensor) -> torch.Tensor:
        memory_down = self.conv_layer_1 if self.official else self.conv_layer_2
        reduced = F.relu(self.bn0(self.conv_layer_1(query_value) + memory_down(memory_read)))
        out = query_value * torch.sigmoid(self.conv_layer_3(reduced)) + memory_read * torch.sigmoid(
            self.conv_layer_4(reduced)
        )
        return F.relu(self.bn(out))


class ConcatFusion(nn.Module):
    """Thesis Table 4.3's "Concat." row (release ``fusion_strategy concat``): each input through
    BN, dropout and ReLU as in :class:`GatedFusion`, then plainly concatenated, no learned mixing.

    The output has ``2 * channels`` channels, which must be what the decoder reads (ERFNet and
    EfficientNet-Lite0: 2 x 64 = 128); PSPNet's 2 x 2048 cannot feed its pyramid pooling.
    """

    def __init__(self, channels: int = 64, out_channels: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        if 2 * channels != out_channels:
            raise ValueError(
                f"concat fusion gives 2 x {channels} = {2 * channels} channels but the decoder reads "
                f"{out_channels}: use fusion='gated' for this backbone"
            )
        self.bn1 = nn.BatchNorm2d(channels, eps=BN_EPS)
        self.bn2 = nn.BatchNorm2d(channels, eps=BN_EPS)
        self.dropout = nn.Dropout2d(dropout)

    def forward(self, query_value: torch.Tensor, memory_read: torch.Tensor) -> torch.Tensor:
        q = torch.relu(self.dropout(self.bn1(query_value)))
        m = torch.relu(self.dropout(self.bn2(memory_read)))
        return torch.cat([q, m], 1)


class UnknownFusionError(UnknownNameError, ValueError):
    """A fusion name that is not in :data:`FUSIONS` (a ValueError for argument checks too)."""


# name -> (value channels, decoder input channels, the backbone's gated fusion factory) -> module
FUSIONS = Registry("LMANet fusion")
FUSIONS.add_all(
    {
        "gated": lambda channels, out_channels, gated: gated(),
        "concat": lambda channels, out_channels, gated: ConcatFusion(channels, out_channels),
    }
)


def build_fusion(name: str, channels: int, out_channels: int, gated: Callable[[], nn.Module]) -> nn.Module:
    """The fusion module ``name`` for ``channels``-channel values and a decoder reading ``out_channels``."""
    if name not in FUSIONS:
        raise UnknownFusionError(f"unknown LMANet fusion '{name}'; known: {', '.join(FUSIONS.names())}")
    return FUSIONS.get(name)(channels, out_channels, gated)
