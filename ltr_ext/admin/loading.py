"""Rebuild a network from a checkpoint: ``load_network(path_or_dir, checkpoint=None, **kwargs)``.

Accepts our checkpoints (safetensors or ``torch.save`` files), official LTR checkpoints (their few
classes admitted by exact name, nothing run) and bare state dicts: ``constructor=`` says how to
build the network, else the file's constructor record (registered constructors only), else a bare
state dict whose keys
are exactly those of a registered architecture (:data:`BARE_STATE_DICT_ARCHITECTURES`, e.g. the
official ``rts50.pth``) is recognised. Loading is strict: every missing or unexpected key is named
in the error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from pytracking_ext.registry import resolve

from .checkpoint import CheckpointError, latest_checkpoint, read_checkpoint
from .model_constructor import ConstructorRecordError, NetConstructor


class StateDictMismatch(RuntimeError):
    """A state dict does not fit the network: the message names every missing and unexpected key and
    every shape mismatch; :meth:`summary` is the short form (counts and the first few names)."""

    def __init__(
        self, source: str, net_name: str, missing: list[str], unexpected: list[str], shapes: list[str]
    ) -> None:
        self.source, self.net_name = source, net_name
        self.missing, self.unexpected, self.shapes = missing, unexpected, shapes
        super().__init__(self.summary(listed=None))

    def summary(self, listed: int | None = 3) -> str:
        """One line; ``listed`` names per kind of mismatch (None: all of them)."""

        def part(kind: str, names: list[str], separator: str) -> str:
            shown = names if listed is None else names[:listed]
            rest = f"{separator}... ({len(names) - len(shown)} more)" if len(shown) < len(names) else ""
            return f"{kind} ({len(names)}): {separator.join(shown)}{rest}"

        parts = [
            part(kind, names, separator)
            for kind, names, separator in (
                ("missing keys", self.missing, ", "),
                ("unexpected keys", self.unexpected, ", "),
                ("shape mismatches", self.shapes, "; "),
            )
            if names
        ]
        return f"{self.source} does not fit {self.net_name}: " + " | ".join(parts)


def load_state_dict_strict(net: nn.Module, state_dict: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """``load_state_dict(strict=True)`` with an error that lists all key and shape mismatches."""
    own = net.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs network {tuple(own[k].shape)}"
        for k in own
        if k in state_dict and tuple(own[k].shape) != tuple(state_dict[k].shape)
    ]
    if missing or unexpected or shapes:
        raise StateDictMismatch(source, type(net).__name__, missing, unexpected, shapes)
    net.load_state_dict(state_dict, strict=True)


def load_parts_strict(
    net: nn.Module, state_dict: dict[str, torch.Tensor], parts: Sequence[str], source: str = "state dict"
) -> None:
    """Load the submodules ``parts`` of ``net`` from the matching ``<part>.*`` keys, each strictly."""
    for part in parts:
        prefix = part + "."
        sub = {k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)}
        load_state_dict_strict(net.get_submodule(part), sub, source=f"{source} [{part}]")


def resolve_checkpoint_file(network_dir: str | Path, checkpoint: int | str | None = None) -> Path:
    """A file path from a file, a folder (latest or epoch ``checkpoint``) or an explicit path."""
    path = Path(network_dir).expanduser()
    if isinstance(checkpoint, str):
        return Path(checkpoint).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint file or folder")
    if checkpoint is None:
        found = latest_checkpoint(path) or next(
            iter(sorted([*path.glob("*.pth*"), *path.glob("*.safetensors")], reverse=True)), None
        )
        if found is None:
            raise CheckpointError(f"{path}: folder has no checkpoint (*.pth.tar or *.safetensors)")
        return found
    matches = sorted(path.glob(f"*_ep{checkpoint:04d}.pth.tar"))
    if len(matches) != 1:
        raise CheckpointError(f"{path}: expected one checkpoint of epoch {checkpoint}, found {len(matches)}")
    return matches[0]


# name -> (factory "module:attr", a key only that architecture has); checked against the full key set.
BARE_STATE_DICT_ARCHITECTURES: dict[str, tuple[str, str]] = {
    "rts50": ("ltr_ext.models.rts:build_rts50", "clf_encoder.label_pred.0.weight"),
}


def _bare_architecture(state_dict: dict[str, torch.Tensor], **kwargs: Any) -> nn.Module | None:
    """The registered architecture (built once, with ``kwargs``) whose keys are exactly those of ``state_dict``."""
    for factory_name, marker in BARE_STATE_DICT_ARCHITECTURES.values():
        if marker in state_dict:
            net = resolve(factory_name)(**kwargs)
            if set(net.state_dict()) == set(state_dict):
                return net
    return None


def _build_from_record(path: Path, record: NetConstructor, kwargs: dict[str, Any]) -> nn.Module:
    """The network a file's constructor record describes: registered constructors only, and arguments
    that do not fit it are a one-line error naming the file, not a traceback."""
    try:
        record.factory()  # an unregistered name fails here, before anything is built
    except ConstructorRecordError as err:
        raise CheckpointError(f"{path}: {err}") from None
    try:
        return record.get(**kwargs)
    except (TypeError, ValueError, KeyError) as err:
        raise CheckpointError(
            f"{path}: constructor {record.name} cannot build a network from the stored "
            f"arguments ({type(err).__name__}: {err})"
        ) from None


def load_network(
    network_dir: str | Path,
    checkpoint: int | str | None = None,
    constructor: Callable[..., nn.Module] | None = None,
    **kwargs: Any,
) -> tuple[nn.Module, dict]:
    """Build the network stored in a checkpoint and load its weights; returns ``(net, checkpoint_dict)``.

    ``kwargs`` override the stored constructor arguments. ``constructor`` (a factory such as
    ``build_rts50``) builds the network when given; without it, the checkpoint's own constructor
    record is used, or a bare state dict is matched against the registered architectures.
    """
    path = resolve_checkpoint_file(network_dir, checkpoint)
    data = read_checkpoint(path)
    if "net" in data and isinstance(data["net"], dict):
        state_dict, record = data["net"], data.get("constructor")
    elif all(isinstance(v, torch.Tensor) for v in data.values()):
        state_dict, record = data, None
    else:
        raise CheckpointError(f"{path}: neither a checkpoint with 'net' nor a bare state dict")
    if record is not None:
        try:
            record = record if isinstance(record, NetConstructor) else NetConstructor.from_dict(record)
        except ConstructorRecordError as err:
            raise CheckpointError(f"{path}: {err}") from None
    if constructor is not None:
        net = constructor(**kwargs)
    elif record is not None:
        net = _build_from_record(path, record, kwargs)
    else:
        net = _bare_architecture(state_dict, **kwargs)
        if net is None:
            raise CheckpointError(f"{path}: a bare state dict; pass constructor= to say how to build the network")
    load_state_dict_strict(net, state_dict, source=str(path))
    if record is not None:
        net.constructor = record
    if data.get("net_info") is not None:
        net.info = data["net_info"]
    return net, data
