"""LMANet: a single-frame segmentation network plus a local memory of the previous S frames.

The module is pure: ``encode`` / ``memorize`` / ``query`` / ``read`` / ``fuse`` / ``decode`` work
frame by frame and the caller keeps the memory (a streaming core keeps a rolling window of S
key/value pairs); ``forward_clip`` runs the official clip protocol (memory filled from the
first L-1 frames, only the last frame decoded).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .attention import global_read, local_attention, local_read
from .erfnet import BN_EPS, ERFNetDecoder, ERFNetEncoder


class KeyValue(nn.Module):
    """3x3 convolutions producing the key (``Key``) and value (``Value``) maps of a frame."""

    def __init__(self, in_channels: int, key_channels: int, value_channels: int) -> None:
        super().__init__()
        self.Key = nn.Conv2d(in_channels, key_channels, 3, padding=1)
        self.Value = nn.Conv2d(in_channels, value_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.Key(x), self.Value(x)


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
        out = self.conv_layer_1(q) * torch.sigmoid(self.conv_layer_3(both)) \
            + self.conv_layer_2(m) * torch.sigmoid(self.conv_layer_4(both))
        return torch.relu(self.bn(out))


class LMANet(nn.Module):
    """Encoder, memory/query key-value heads (tied keys), memory read, fusion, decoder."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, memory_size: int = 3, window: int = 21,
                 attention: str = "local", key_channels: int = 16, value_channels: int = 64) -> None:
        super().__init__()
        if window < 1 or window % 2 == 0:
            raise ValueError(f"window must be an odd positive side length, got {window}")
        if attention not in ("local", "global"):
            raise ValueError(f"attention must be 'local' or 'global', got '{attention}'")
        self.encoder = encoder
        self.kv_M_r4 = KeyValue(encoder.out_channels, key_channels, value_channels)
        self.kv_Q_r4 = KeyValue(encoder.out_channels, key_channels, value_channels)
        # Tied key convolution: the query head uses the memory head's parameters (one set to train).
        self.kv_Q_r4.Key.weight = self.kv_M_r4.Key.weight
        self.kv_Q_r4.Key.bias = self.kv_M_r4.Key.bias
        self.memory_fusion = GatedFusion(value_channels, encoder.out_channels)
        self.decoder = decoder
        self.memory_size = memory_size
        self.window = window
        self.attention = attention

    def encode(self, frame: torch.Tensor) -> torch.Tensor:
        return self.encoder(frame)

    def memorize(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Memory key and value of an encoded frame."""
        return self.kv_M_r4(features)

    def query(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.kv_Q_r4(features)

    def read(self, query_key: torch.Tensor, memory_keys: torch.Tensor, memory_values: torch.Tensor) -> torch.Tensor:
        """Memory read for stacked ``(B, D, S, H, W)`` memory keys/values (oldest first)."""
        if self.attention == "global":
            return global_read(query_key, memory_keys, memory_values)
        return local_read(local_attention(query_key, memory_keys, self.window), memory_values, self.window)

    def fuse(self, query_value: torch.Tensor, memory_read: torch.Tensor) -> torch.Tensor:
        return self.memory_fusion(query_value, memory_read)

    def decode(self, fused: torch.Tensor) -> torch.Tensor:
        return self.decoder(fused)

    def step(self, frame: torch.Tensor, memory_keys: torch.Tensor, memory_values: torch.Tensor) -> torch.Tensor:
        """Logits of ``frame`` given a memory (``S`` may differ from training, Table 4.10)."""
        key, value = self.query(self.encode(frame))
        return self.decode(self.fuse(value, self.read(key, memory_keys, memory_values)))

    def forward_clip(self, frames: torch.Tensor) -> torch.Tensor:
        """``B x L x 3 x H x W`` in [0, 1], oldest first -> logits of the last frame ``B x C x H x W``."""
        if frames.dim() != 5 or frames.shape[1] < 2:
            raise ValueError(f"forward_clip expects B x L x 3 x H x W with L >= 2, got {tuple(frames.shape)}")
        keys, values = zip(*(self.memorize(self.encode(frames[:, t])) for t in range(frames.shape[1] - 1)))
        keys, values = keys[-self.memory_size:], values[-self.memory_size:]
        return self.step(frames[:, -1], torch.stack(keys, 2), torch.stack(values, 2))

    forward = forward_clip


def build_lmanet(backbone: str = "erfnet", memory_size: int = 3, window: int = 21, num_classes: int = 20,
                 attention: str = "local") -> LMANet:
    """LMANet with the official parameter names (``backbone='erfnet'``)."""
    if backbone != "erfnet":
        raise ValueError(f"unknown LMANet backbone '{backbone}'; available: erfnet")
    return LMANet(ERFNetEncoder(), ERFNetDecoder(num_classes), memory_size, window, attention)
