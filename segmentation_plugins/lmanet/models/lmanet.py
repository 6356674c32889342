"""LMANet: a single-frame segmentation network plus a local memory of the previous S frames.

The module is pure: ``encode`` / ``memorize`` / ``query`` / ``read`` / ``fuse`` / ``decode`` work
frame by frame and the caller keeps the memory (a streaming core keeps a rolling window of S
key/value pairs); ``forward_clip`` runs the official clip protocol (memory filled from the
first L-1 frames, only the last frame decoded).

The single-frame baseline (:class:`SingleFrameNet`, thesis Table 4.3 "baseline") is the same
encoder and decoder without the memory; its state dict is LMANet's minus the memory parts
(``kv_M_r4``, ``kv_Q_r4``, ``memory_fusion``), so a trained baseline initialises LMANet strictly
(:meth:`LMANet.load_single_frame`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
import torch.nn as nn

from ltr_ext.admin.loading import load_state_dict_strict

from .attention import global_read, local_memory_read
from .backbones import BACKBONES, backbone_parts
from .fusion import GatedFusion, build_fusion

MEMORY_PARTS = ("kv_M_r4", "kv_Q_r4", "memory_fusion")

# attention name -> memory read (query key, memory keys, memory values, window)
MEMORY_READS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]] = {
    "local": local_memory_read,
    "global": lambda query_key, memory_keys, memory_values, window: global_read(query_key, memory_keys, memory_values),
}


class KeyValue(nn.Module):
    """3x3 convolutions producing the key (``Key``) and value (``Value``) maps of a frame.

    ``value_channels=None``: the value is the input itself (official PSPNet; an identity has no
    state-dict entries, as the official model has no ``Value``).
    """

    def __init__(self, in_channels: int, key_channels: int, value_channels: int | None) -> None:
        super().__init__()
        self.Key = nn.Conv2d(in_channels, key_channels, 3, padding=1)
        self.Value = nn.Identity() if value_channels is None else nn.Conv2d(in_channels, value_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.Key(x), self.Value(x)


def _stages(decoder: nn.Module | Mapping[str, nn.Module]) -> dict[str, nn.Module]:
    return {"decoder": decoder} if isinstance(decoder, nn.Module) else dict(decoder)


def _add_stages(net: nn.Module, stages: dict[str, nn.Module]) -> tuple[str, ...]:
    for name, stage in stages.items():
        if hasattr(net, name):
            raise ValueError(f"decoder stage name '{name}' clashes with an attribute of {type(net).__name__}")
        net.add_module(name, stage)
    return tuple(stages)


class SingleFrameNet(nn.Module):
    """``frame -> logits``: the encoder followed by the decoder stages (no memory)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module | Mapping[str, nn.Module]) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder_stages = _add_stages(self, _stages(decoder))

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        """``B x 3 x H x W`` in [0, 1] -> ``B x C x H' x W'`` logits."""
        x = self.encoder(frame)
        for name in self.decoder_stages:
            x = getattr(self, name)(x)
        return x


class LMANet(nn.Module):
    """Encoder, memory/query key-value heads (tied keys), memory read, fusion, decoder stages.

    ``decoder`` is one module (registered as ``decoder``) or an ordered name -> module mapping
    whose stages run in order (PSPNet: ``ppm``, ``decoder``). ``fusion`` defaults to ERFNet's
    gated fusion of ``value_channels`` back to the encoder's channels.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module | Mapping[str, nn.Module],
        memory_size: int = 3,
        window: int = 21,
        attention: str = "local",
        key_channels: int = 16,
        value_channels: int | None = 64,
        fusion: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if window < 1 or window % 2 == 0:
            raise ValueError(f"window must be an odd positive side length, got {window}")
        if attention not in MEMORY_READS:
            raise ValueError(f"attention must be one of {', '.join(MEMORY_READS)}; got '{attention}'")
        self.encoder = encoder
        self.kv_M_r4 = KeyValue(encoder.out_channels, key_channels, value_channels)
        self.kv_Q_r4 = KeyValue(encoder.out_channels, key_channels, value_channels)
        # Tied key convolution: the query head uses the memory head's parameters (one set to train).
        self.kv_Q_r4.Key.weight = self.kv_M_r4.Key.weight
        self.kv_Q_r4.Key.bias = self.kv_M_r4.Key.bias
        self.memory_fusion = fusion if fusion is not None else GatedFusion(value_channels, encoder.out_channels)
        self.decoder_stages = _add_stages(self, _stages(decoder))
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
        if self.attention not in MEMORY_READS:
            raise ValueError(f"attention must be one of {', '.join(MEMORY_READS)}; got '{self.attention}'")
        return MEMORY_READS[self.attention](query_key, memory_keys, memory_values, self.window)

    def fuse(self, query_value: torch.Tensor, memory_read: torch.Tensor) -> torch.Tensor:
        return self.memory_fusion(query_value, memory_read)

    def decode(self, fused: torch.Tensor) -> torch.Tensor:
        for name in self.decoder_stages:
            fused = getattr(self, name)(fused)
        return fused

    def step(self, frame: torch.Tensor, memory_keys: torch.Tensor, memory_values: torch.Tensor) -> torch.Tensor:
        """Logits of ``frame`` given a memory (``S`` may differ from training, Table 4.10)."""
        key, value = self.query(self.encode(frame))
        return self.decode(self.fuse(value, self.read(key, memory_keys, memory_values)))

    def forward_clip(self, frames: torch.Tensor) -> torch.Tensor:
        """``B x L x 3 x H x W`` in [0, 1], oldest first -> logits of the last frame ``B x C x H x W``."""
        if frames.dim() != 5 or frames.shape[1] < 2:
            raise ValueError(f"forward_clip expects B x L x 3 x H x W with L >= 2, got {tuple(frames.shape)}")
        keys, values = zip(*(self.memorize(self.encode(frames[:, t])) for t in range(frames.shape[1] - 1)))
        keys, values = keys[-self.memory_size :], values[-self.memory_size :]
        return self.step(frames[:, -1], torch.stack(keys, 2), torch.stack(values, 2))

    forward = forward_clip

    def single_frame(self) -> SingleFrameNet:
        """The baseline network sharing this model's encoder and decoder modules (no copy)."""
        return SingleFrameNet(self.encoder, {name: getattr(self, name) for name in self.decoder_stages})

    def load_single_frame(self, state_dict: Mapping[str, torch.Tensor], source: str = "single-frame weights") -> None:
        """Initialise encoder and decoder from a :class:`SingleFrameNet` state dict, strictly (every
        missing or unexpected key is named); the memory parts are left as they are."""
        load_state_dict_strict(self.single_frame(), dict(state_dict), source=source)


def build_lmanet(
    backbone: str = "erfnet",
    memory_size: int = 3,
    window: int = 21,
    num_classes: int = 20,
    attention: str = "local",
    pretrained: bool = False,
    fusion: str = "gated",
    **options,
) -> LMANet:
    """LMANet on a registered backbone (:data:`BACKBONES`) with the official parameter names.

    ``pretrained`` loads packaged ImageNet encoder weights (``efficientnet_lite0`` only);
    ``fusion``: ``gated`` (eq. 4.6) or ``concat`` (thesis Table 4.3), see fusion.py;
    ``options`` go to the backbone builder (e.g. ``official_fusion`` for ``pspnet``).
    """
    parts = backbone_parts(backbone, num_classes, pretrained, **options)
    channels = parts.value_channels or parts.encoder.out_channels  # None: the values are the features
    return LMANet(
        parts.encoder,
        parts.decoder,
        memory_size,
        window,
        attention,
        parts.key_channels,
        parts.value_channels,
        build_fusion(fusion, channels, parts.encoder.out_channels, parts.fusion),
    )


def build_single_frame(
    backbone: str = "erfnet", num_classes: int = 20, pretrained: bool = False, **options
) -> SingleFrameNet:
    """The single-frame baseline of ``build_lmanet(backbone, ...)``: same encoder/decoder keys."""
    parts = backbone_parts(backbone, num_classes, pretrained, **options)
    return SingleFrameNet(parts.encoder, parts.decoder)


__all__ = ["BACKBONES", "KeyValue", "LMANet", "MEMORY_READS", "SingleFrameNet", "build_lmanet", "build_single_frame"]
