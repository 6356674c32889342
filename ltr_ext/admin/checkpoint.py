"""Checkpoint files: LTR's fields, written atomically as plain data (``torch.save`` or safetensors), read
without ever running code from the file (docs/security.md)."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from pytracking_ext.utils.io import atomic_write_bytes

from .legacy import legacy_safe_globals, plain_legacy_checkpoint
from .pickle_scan import checkpoint_globals
from .safetensors_file import (
    SUFFIX,
    SafetensorsFormatError,
    checkpoint_to_bytes,
    is_safetensors_file,
    read_safetensors_checkpoint,
)

CHECKPOINT_PATTERN = re.compile(r"^(?P<net>.+)_ep(?P<epoch>\d{4,})\.pth\.tar$")


class CheckpointError(Exception):
    """A checkpoint file is missing, truncated or not one of ours/LTR's."""


def checkpoint_path(folder: Path, net_type: str, epoch: int) -> Path:
    return Path(folder) / f"{net_type}_ep{epoch:04d}.pth.tar"


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically: a ``.safetensors`` path gets a safetensors file (tensors plus a JSON
    record, see :mod:`.safetensors_file`), any other path a ``torch.save`` file of plain data."""
    path = Path(path)
    if path.suffix == SUFFIX:
        try:
            payload = checkpoint_to_bytes(state)
        except SafetensorsFormatError as err:
            raise CheckpointError(f"{path}: {err}") from None
    else:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        payload = buffer.getvalue()
    atomic_write_bytes(path, payload)
    return path


def list_checkpoints(folder: Path, net_type: str | None = None) -> list[Path]:
    """The checkpoints in ``folder`` (optionally of one network class), highest epoch first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = CHECKPOINT_PATTERN.match(path.name)
        if match and (net_type is None or match["net"] == net_type):
            found.append((int(match["epoch"]), path))
    return [path for _, path in sorted(found, reverse=True)]


def latest_checkpoint(folder: Path, net_type: str | None = None) -> Path | None:
    """The checkpoint of the highest epoch in ``folder`` (optionally of one network class)."""
    return next(iter(list_checkpoints(folder, net_type)), None)


def read_checkpoint(path: str | os.PathLike, legacy: bool = True) -> dict[str, Any]:
    """Load a checkpoint dict on the CPU without running anything the file names (docs/security.md).

    safetensors files are read as tensors plus their JSON record. PyTorch files go through PyTorch's
    ``weights_only`` unpickler; with ``legacy`` it also admits the few classes of official LTR
    pickles (:data:`.legacy.LEGACY_GLOBALS`, turned into plain data). Any other global is refused
    with a :class:`CheckpointError` naming it and the file.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    if is_safetensors_file(path):
        try:
            data = read_safetensors_checkpoint(path)
        except SafetensorsFormatError as err:
            raise CheckpointError(f"{path}: {err}") from None
    else:
        data = _read_torch_file(path, legacy)
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a checkpoint dict, found {type(data).__name__}")
    return plain_legacy_checkpoint(data) if legacy else data


def _refused_globals(path: Path, allowed: set[str]) -> list[str]:
    """Globals the file names beyond PyTorch's plain-data set and ``allowed`` (its opcodes read, nothing run)."""
    try:
        found = checkpoint_globals(path)
    except (OSError, zipfile.BadZipFile, ValueError):  # damaged: torch.load reports it below
        return []
    from torch._weights_only_unpickler import _get_allowed_globals

    return sorted(found - allowed - set(_get_allowed_globals()))


def _one_line(err: BaseException) -> str:
    """Why PyTorch could not read a file, as one line, without its advice to load with ``weights_only=False``."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    reason = next(
        (line.split("WeightsUnpickler error:", 1)[1].strip() for line in lines if "WeightsUnpickler error:" in line),
        next((line for line in lines if "weights_only" not in line.lower() and "weights only" not in line.lower()), ""),
    )
    if not reason or isinstance(err, (KeyError, EOFError, IndexError)):  # the reader's internals, no reason
        return "damaged, or not a PyTorch or safetensors file"
    return f"{type(err).__name__}: {reason}"


def _read_torch_file(path: Path, legacy: bool) -> Any:
    allowed = legacy_safe_globals() if legacy else []
    refused = _refused_globals(path, {name for _, name in allowed})
    if refused:
        raise CheckpointError(
            f"{path}: refused to load: it names {', '.join(refused)}, which a network file never "
            "needs (only tensors, plain data and LTR's own records are read; see docs/security.md)"
        )
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure reading an untrusted file is one CheckpointError
        # truncated, foreign, or a global only found while reading
        raise CheckpointError(f"{path}: not a readable checkpoint ({_one_line(err)})") from None
