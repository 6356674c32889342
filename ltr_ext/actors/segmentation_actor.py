"""Semantic segmentation of clips: cross-entropy on the last frame (LMANet, thesis 4.3.5; EVS key frames).

The batch holds ``frames`` (``B x L x 3 x H x W`` in [0, 1], oldest first) and ``label``
(``B x H x W`` class ids of the last frame, ``ignore_index`` where unlabelled). A network with
``forward_clip`` reads the whole clip; a single-frame network sees the last frame only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base_actor import BaseActor


def net_logits(net: nn.Module, frames: torch.Tensor) -> torch.Tensor:
    """Logits of the last frame of ``frames`` from a clip network or a single-frame one."""
    inner = getattr(net, "module", net)  # DistributedDataParallel keeps the model in .module
    if hasattr(inner, "forward_clip"):
        return net(frames)
    return net(frames[:, -1])


class ClipSegmentationActor(BaseActor):
    """Weighted cross-entropy of the last frame's logits; ``frozen`` submodules stay in eval mode."""

    def __init__(
        self,
        net: nn.Module,
        class_weights: torch.Tensor | None = None,
        ignore_index: int = 255,
        frozen: Sequence[str] = (),
    ) -> None:
        super().__init__(net, nn.CrossEntropyLoss(weight=class_weights, ignore_index=ignore_index))
        self.ignore_index = ignore_index
        self.frozen = tuple(frozen)
        for name in self.frozen:
            for parameter in net.get_submodule(name).parameters():
                parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> None:
        # frozen parts keep their BN statistics and dropout off (the official --encoder-eval-mode)
        self.net.train(mode)
        inner = getattr(self.net, "module", self.net)
        for name in self.frozen:
            inner.get_submodule(name).eval()

    def __call__(self, data: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        logits = net_logits(self.net, data["frames"])
        label = data["label"].long()
        if logits.shape[-2:] != label.shape[-2:]:
            logits = F.interpolate(logits, size=label.shape[-2:], mode="bilinear", align_corners=False)
        loss = self.objective(logits, label)
        valid = label != self.ignore_index
        correct = (logits.argmax(1) == label) & valid
        accuracy = float(correct.sum()) / max(int(valid.sum()), 1)
        return loss, {"Loss/total": float(loss.detach()), "Stats/pixel_acc": accuracy}
