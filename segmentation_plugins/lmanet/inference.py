"""Streaming LMANet inference: the caller-side memory of the last S frames (the network stays pure).

Every frame is encoded once; its memory key/value are pushed to a first-in first-out memory of
``memory_size`` entries after it has been segmented, so frame t reads frames t-S..t-1. The first
frame of a video has an empty memory and is segmented by reading itself, as the official clip
protocol never needs to (its memory is always full): the :class:`EmptyMemory` policy chooses.
``memory_size`` may differ from the one used in training (thesis Table 4.10).

Precision: the network's convolutions run in the dtype of its weights (bf16 when the segmenter
cast it, see ``segmenter.py``); the memory keys/values are kept and read in fp32 (the softmax of
the local attention and the weighted sum: the fp32 island), the read is cast back for the fusion
and the decoder, and the logits come out in fp32. In fp32 every cast is a no-op.
"""

from __future__ import annotations

import numbers
from collections import deque
from enum import Enum

import torch

from pytracking_ext.errors import PytrackingError

from .models.lmanet import LMANet


class LMANetSettingError(PytrackingError, ValueError):
    """An inference setting (``memory_size``, ``empty_memory``) has a value LMANet cannot use."""


class EmptyMemory(str, Enum):
    """What the first frames of a video read while the memory holds fewer than S frames."""

    SELF = "self"  # read the frame's own memory key/value (a memory of one)
    AVAILABLE = "available"  # read whatever is stored; the very first frame reads itself

    @classmethod
    def _missing_(cls, value: object) -> EmptyMemory:
        known = ", ".join(repr(member.value) for member in cls)
        raise LMANetSettingError(f"empty_memory must be one of {known}, got {value!r}")


class LMANetStreamer:
    """Segments a video frame by frame with a rolling memory of ``memory_size`` frames."""

    def __init__(
        self, model: LMANet, memory_size: int | None = None, empty_memory: EmptyMemory = EmptyMemory.AVAILABLE
    ) -> None:
        self.model = model
        size = memory_size or model.memory_size
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise LMANetSettingError(f"memory_size must be a positive integer, got {size!r}")
        self.memory_size = int(size)
        self.empty_memory = EmptyMemory(empty_memory)
        self.keys: deque[torch.Tensor] = deque(maxlen=self.memory_size)
        self.values: deque[torch.Tensor] = deque(maxlen=self.memory_size)

    def reset(self) -> None:
        """Forget the memory (a new video or clip)."""
        self.keys.clear()
        self.values.clear()

    @torch.inference_mode()
    def step(self, frame: torch.Tensor) -> torch.Tensor:
        """fp32 logits ``B x C x H x W`` of ``frame`` (``B x 3 x H x W`` in [0, 1]); then memorise it."""
        features = self.model.encode(to_network(frame, network_dtype(self.model)))
        key, value = (t.float() for t in self.model.memorize(features))  # the memory is fp32
        if not self.keys or (self.empty_memory is EmptyMemory.SELF and len(self.keys) < self.memory_size):
            memory_keys, memory_values = key.unsqueeze(2), value.unsqueeze(2)
        else:
            memory_keys, memory_values = torch.stack(list(self.keys), 2), torch.stack(list(self.values), 2)
        query_key, query_value = self.model.query(features)
        read = self.model.read(query_key.float(), memory_keys, memory_values)  # softmax and sum in fp32
        logits = self.model.decode(self.model.fuse(query_value, read.to(query_value.dtype)))
        self.keys.append(key)
        self.values.append(value)
        return logits.float()


def network_dtype(model: torch.nn.Module) -> torch.dtype:
    """The dtype the network computes in (that of its first floating-point parameter; fp32 if none)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def to_network(frame: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``frame`` as the network's input: unchanged in fp32, else cast and channels-last."""
    if dtype == torch.float32:
        return frame
    return frame.to(dtype).contiguous(memory_format=torch.channels_last)
