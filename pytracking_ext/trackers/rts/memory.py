"""Sample memories of the RTS tracker with DiMP's weighting rule (docs/rts.md C.5).

A memory holds up to ``size`` samples (feature maps plus labels) and one weight per sample. The
first ``num_init`` slots hold the initial sample(s). New samples go to the next free slot; when
full, they replace the lowest-weighted slot (the init slots are protected when a minimum init
weight is set). Weights decay geometrically with ``learning_rate`` (newest largest) and always sum
to one, except that with ``init_min_weight`` the init slots are pinned to that share and the
others divided by ``init_min_weight + their sum`` (the reference arithmetic, kept for parity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


def update_sample_weights(
    weights: torch.Tensor,
    previous_index: int | None,
    num_stored: int,
    num_init: int,
    learning_rate: float,
    init_min_weight: float | None,
) -> int:
    """Update ``weights`` (in place) for a new sample and return the slot it goes to."""
    start = num_init if init_min_weight is not None and init_min_weight > 0 else 0
    if num_stored == 0:
        index = 0
    elif num_stored < weights.numel():
        index = num_stored
    else:
        index = start + int(torch.argmin(weights[start:]))
    if previous_index is None:
        weights /= 1 - learning_rate
        weights[index] = learning_rate
    else:
        weights[index] = weights[previous_index] / (1 - learning_rate)
    weights /= weights.sum()
    if init_min_weight is not None and init_min_weight > 0 and weights[:num_init].sum() < init_min_weight:
        weights /= init_min_weight + weights[num_init:].sum()
        weights[:num_init] = init_min_weight / num_init
    return index


@dataclass
class SampleMemory:
    """Fixed-size store of tensors (one entry per named field) with DiMP sample weights."""

    size: int
    learning_rate: float
    init_min_weight: float | None = None
    fields: dict[str, torch.Tensor] = field(default_factory=dict)
    weights: torch.Tensor | None = None
    num_stored: int = 0
    num_init: int = 0
    previous_index: int | None = None

    def initialize(self, **samples: torch.Tensor) -> None:
        """Store the init samples (dim 0 = sample) with equal weights."""
        count = next(iter(samples.values())).shape[0]
        if count > self.size:
            raise ValueError(f"{count} init samples do not fit a memory of {self.size}")
        self.fields = {}
        for name, value in samples.items():
            nhwc = value.dim() == 4 and value.is_contiguous(memory_format=torch.channels_last)
            # Feature maps stay NHWC: the learner's convolutions over the memory are ~2.5x faster. Free
            # slots are never read (stored() slices the filled ones), so the buffer is left uninitialised:
            # zeroing 50 feature maps costs ~0.1 s at init.
            buffer = torch.empty(
                (self.size,) + tuple(value.shape[1:]),
                dtype=value.dtype,
                device=value.device,
                memory_format=torch.channels_last if nhwc else torch.contiguous_format,
            )
            buffer[:count] = value
            self.fields[name] = buffer
        self.weights = torch.zeros(self.size, dtype=torch.float64)
        self.weights[:count] = 1.0 / count
        self.num_stored = self.num_init = count
        self.previous_index = None

    def add(self, learning_rate: float | None = None, **sample: torch.Tensor) -> int:
        """Store one sample (no sample dim) and return its slot; ``learning_rate`` overrides the
        memory's own for this sample (DiMP's hard negatives, docs/rts.md C.6)."""
        rate = self.learning_rate if learning_rate is None else learning_rate
        index = update_sample_weights(
            self.weights, self.previous_index, self.num_stored, self.num_init, rate, self.init_min_weight
        )
        for name, value in sample.items():
            self.fields[name][index] = value
        self.previous_index = index
        self.num_stored = min(self.num_stored + 1, self.size)
        return index

    def stored(self, name: str) -> torch.Tensor:
        return self.fields[name][: self.num_stored]

    def stored_weights(self) -> torch.Tensor:
        return self.weights[: self.num_stored]
