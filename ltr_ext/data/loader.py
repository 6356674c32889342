"""``LTRLoader``: a DataLoader with a name, an epoch interval and LTR's ``stack_dim`` batching.

With ``stack_dim=1`` per-sample tensors of shape ``(frames, ...)`` become ``(frames, batch, ...)``
batches, as LTR's sequence training expects. Strings and ``None`` stay lists; mappings and
sequences are collated element-wise.
"""

from __future__ import annotations

import collections.abc
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from .tensordict import TensorDict, TensorList


def stack_collate(batch: list[Any], stack_dim: int = 0) -> Any:
    """Collate a list of samples, stacking tensors along ``stack_dim``."""
    first = batch[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(batch, dim=stack_dim)
    if isinstance(first, np.ndarray) and first.dtype.kind in "biuf":
        return torch.stack([torch.from_numpy(np.ascontiguousarray(b)) for b in batch], dim=stack_dim)
    if isinstance(first, (bool, np.bool_)):
        return torch.tensor(batch, dtype=torch.bool)
    if isinstance(first, (int, np.integer)):
        return torch.tensor(batch, dtype=torch.long)
    if isinstance(first, (float, np.floating)):
        return torch.tensor(batch, dtype=torch.float64)
    if isinstance(first, (str, bytes)) or first is None:
        return list(batch)
    if isinstance(first, TensorDict):
        return TensorDict((key, stack_collate([b[key] for b in batch], stack_dim)) for key in first)
    if isinstance(first, collections.abc.Mapping):
        return {key: stack_collate([b[key] for b in batch], stack_dim) for key in first}
    if isinstance(first, TensorList):
        return TensorList(stack_collate(list(items), stack_dim) for items in zip(*batch))
    if isinstance(first, collections.abc.Sequence):
        return [stack_collate(list(items), stack_dim) for items in zip(*batch)]
    raise TypeError(f"cannot collate samples of type {type(first).__name__}")


class LTRLoader(DataLoader):
    """DataLoader plus ``name`` (stats/TensorBoard key), ``training``, ``epoch_interval``, ``stack_dim``."""

    def __init__(
        self,
        name: str,
        dataset,
        training: bool = True,
        batch_size: int = 1,
        shuffle: bool = False,
        sampler=None,
        num_workers: int = 0,
        epoch_interval: int = 1,
        collate_fn: Callable | None = None,
        stack_dim: int = 0,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        generator: torch.Generator | None = None,
        persistent_workers: bool = False,
    ) -> None:
        if collate_fn is None:
            collate_fn = _StackCollate(stack_dim)
        super().__init__(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            sampler=sampler,
            num_workers=num_workers,
            collate_fn=collate_fn,
            pin_memory=pin_memory,
            drop_last=drop_last,
            timeout=timeout,
            worker_init_fn=worker_init_fn,
            generator=generator,
            persistent_workers=persistent_workers and num_workers > 0,
        )
        self.name = name
        self.training = training
        self.epoch_interval = epoch_interval
        self.stack_dim = stack_dim


class _StackCollate:
    """Picklable collate function (worker processes use spawn)."""

    def __init__(self, stack_dim: int) -> None:
        self.stack_dim = stack_dim

    def __call__(self, batch: list[Any]) -> Any:
        return stack_collate(batch, self.stack_dim)
