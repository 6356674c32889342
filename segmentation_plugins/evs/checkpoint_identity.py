"""Say which EVS network a checkpoint holds, so that a mismatch is one actionable line.

A CamVid-trained small ICNet given to a parameter set that expects the standard 19-class Cityscapes
network (or the other way round) would otherwise fail with every key listed. Here each registered
ICNet configuration is built once with a single class; a checkpoint fits configuration ``c`` with
``n`` classes when its keys are the same and the only shapes that differ are the class dimension
(dimension 0 of the classifier weights and biases), all equal to ``n``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn as nn

from .models import ICNET_CONFIGS, build_icnet, build_refiner


@dataclass(frozen=True)
class NetworkIdentity:
    kind: str  # 'ICNet' or 'Refiner'
    config: str  # a name of ICNET_CONFIGS
    num_classes: int

    def describe(self) -> str:
        return f"the {self.config} {self.num_classes}-class {self.kind}"

    def settings(self) -> str:
        """The ``--set`` options that make a parameter set expect this network."""
        return f"--set icnet_config={self.config} --set num_classes={self.num_classes}"


#: how to build each EVS network kind with a configuration name and a class count
BUILDERS: dict[str, Callable[[str, int], nn.Module]] = {
    "ICNet": lambda config, classes: build_icnet(config, num_classes=classes),
    "Refiner": lambda config, classes: build_refiner(config, num_classes=classes),
}


def _class_count(own: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor]) -> int | None:
    """The class count under which ``given`` fits ``own`` (built with one class), else None."""
    if set(own) != set(given):
        return None
    counts = set()
    for key, tensor in own.items():
        other = given[key]
        if tensor.shape == other.shape:
            continue
        if tensor.dim() != other.dim() or tensor.shape[0] != 1 or tensor.shape[1:] != other.shape[1:]:
            return None
        counts.add(int(other.shape[0]))
    if len(counts) > 1:
        return None
    return counts.pop() if counts else 1


def identify(state_dict: Mapping[str, torch.Tensor], kind: str) -> NetworkIdentity | None:
    """Which registered configuration and class count of ``kind`` the state dict is, or None."""
    build = BUILDERS[kind]
    for config in ICNET_CONFIGS.names():
        classes = _class_count(build(config, 1).state_dict(), state_dict)
        if classes is not None:
            return NetworkIdentity(kind, config, classes)
    return None
