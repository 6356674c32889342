"""Network files in the safetensors format: tensors plus a small JSON record, nothing that can run.

A file holds the network's state dict as tensors and, in the header's metadata under
:data:`RECORD_KEY`, a JSON object with the other checkpoint fields an inference file needs
(``constructor`` as ``{fun_module, fun_name, args, kwds}``, ``net_type``, ``epoch``, ``net_info``).
A safetensors file without that record (e.g. written by another tool) reads as a bare state dict.
Format and conversion: docs/security.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

#: metadata key of the JSON record; the value's ``format`` names this layout and its version
RECORD_KEY = "ltr_ext"
FORMAT = "ltr_ext.checkpoint/1"
SUFFIX = ".safetensors"


class SafetensorsFormatError(ValueError):
    """A checkpoint cannot be written as, or read from, a safetensors file (the message says why)."""


def is_safetensors_file(path: str | os.PathLike) -> bool:
    """True when the file starts like a safetensors file (header length, then a JSON object)."""
    with open(path, "rb") as file:
        head = file.read(9)
        size = os.fstat(file.fileno()).st_size
    if len(head) < 9 or head[8:9] != b"{":
        return False
    header_length = int.from_bytes(head[:8], "little")
    return 0 < header_length <= size - 8


def _json_ready(value: Any, where: str) -> Any:
    """``value`` as JSON data (tuples become lists); anything else is an error naming the field."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_ready(item, where) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_ready(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, torch.device):
        return str(value)
    raise SafetensorsFormatError(
        f"field '{where}' holds a {type(value).__name__}, which a safetensors "
        "record cannot store (plain numbers, strings, lists and dicts only)"
    )


def checkpoint_to_bytes(state: dict[str, Any]) -> bytes:
    """A checkpoint dict (``net`` state dict plus plain fields) as the bytes of a safetensors file."""
    from safetensors.torch import save

    net = state.get("net")
    if not isinstance(net, dict) or not all(isinstance(v, torch.Tensor) for v in net.values()):
        raise SafetensorsFormatError("a safetensors network file needs 'net': a state dict of tensors")
    record = {key: _json_ready(value, key) for key, value in state.items() if key != "net"}
    record["format"] = FORMAT
    # safetensors refuses tensors sharing storage; private contiguous copies keep any state dict writable
    tensors = {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in net.items()}
    return save(tensors, metadata={RECORD_KEY: json.dumps(record, allow_nan=True)})


def read_safetensors_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint dict stored in a safetensors file (just the tensors when it has no record).

    Raises :class:`SafetensorsFormatError` (one line) for a damaged file or record.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise SafetensorsFormatError(f"damaged safetensors file ({str(err).splitlines()[0]})") from None
    if RECORD_KEY not in metadata:
        return tensors
    try:
        record = json.loads(metadata[RECORD_KEY])
    except json.JSONDecodeError as err:
        raise SafetensorsFormatError(f"its '{RECORD_KEY}' record is not JSON ({err})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise SafetensorsFormatError(f"its '{RECORD_KEY}' record is not a {FORMAT} record")
    record.pop("format")
    return {**record, "net": tensors}
