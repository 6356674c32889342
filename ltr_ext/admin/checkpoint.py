"""Checkpoint files: LTR's fields, written atomically, plain data only (``weights_only=True`` loads them)."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import torch

from pytracking_ext.utils.io import atomic_write_bytes

CHECKPOINT_PATTERN = re.compile(r"^(?P<net>.+)_ep(?P<epoch>\d{4,})\.pth\.tar$")


class CheckpointError(Exception):
    """A checkpoint file is missing, truncated or not one of ours/LTR's."""


def checkpoint_path(folder: Path, net_type: str, epoch: int) -> Path:
    return Path(folder) / f"{net_type}_ep{epoch:04d}.pth.tar"


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Serialise ``state`` with ``torch.save`` into a temporary file and rename it over ``path``."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def latest_checkpoint(folder: Path, net_type: str | None = None) -> Path | None:
    """The checkpoint of the highest epoch in ``folder`` (optionally of one network class)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = []
    for path in folder.iterdir():
        match = CHECKPOINT_PATTERN.match(path.name)
        if match and (net_type is None or match["net"] == net_type):
            found.append((int(match["epoch"]), path))
    return max(found)[1] if found else None


def read_checkpoint(path: str | os.PathLike, legacy: bool = True) -> dict[str, Any]:
    """Load a checkpoint dict on the CPU; official LTR pickles go through a restricted unpickler."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # not loadable as plain data: maybe an official LTR pickle, or broken
        if not legacy:
            raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
        from .legacy import load_legacy_checkpoint

        data = load_legacy_checkpoint(path)
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a checkpoint dict, found {type(data).__name__}")
    return data
