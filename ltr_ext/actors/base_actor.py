"""The actor contract of LTR."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn


class BaseActor:
    """Runs the network on a batch and computes the loss: ``actor(data) -> (loss, stats)``.

    ``stats`` maps names such as ``'Loss/total'`` to floats; the trainer averages each over the
    epoch and writes it to TensorBoard.
    """

    def __init__(self, net: nn.Module, objective: Any) -> None:
        self.net = net
        self.objective = objective

    def __call__(self, data: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def to(self, device: torch.device) -> None:
        self.net.to(device)
        if isinstance(self.objective, nn.Module):
            self.objective.to(device)

    def train(self, mode: bool = True) -> None:
        self.net.train(mode)

    def eval(self) -> None:
        self.train(False)
