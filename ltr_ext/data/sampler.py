"""Draw training samples (train and test frames of one target) from a mix of video datasets.

LWL/RTS 'causal' mode (docs/conventions.md D.9.2): a base frame among the visible frames, the other train
frames before it and the test frames after it, within ``max_gap`` (+5 on every failed draw),
drawn with replacement; with probability ``p_reverse`` the sequence is read backwards. Datasets
are chosen with probabilities ``p_datasets`` (default: proportional to size). An image that
cannot be read is skipped: the sample is redrawn, the file named once in a warning, and the
number of skipped draws travels with the sample (``skipped_images``) so the trainer can report
it per epoch, also from worker processes.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from pytracking_ext.errors import ImageReadError

MAX_GAP_INCREASE = 1000


class SequenceSampler(Dataset):
    """``samples_per_epoch`` random samples per epoch (the index only sets the length)."""

    def __init__(
        self,
        datasets: Sequence[Any],
        p_datasets: Sequence[float] | None,
        samples_per_epoch: int,
        max_gap: int,
        num_test_frames: int,
        num_train_frames: int = 1,
        processing: Callable[[dict], Any] | None = None,
        p_reverse: float = 0.0,
        min_sequence_frames: int = 0,
    ) -> None:
        self.datasets = list(datasets)
        weights = list(p_datasets) if p_datasets is not None else [len(d) for d in self.datasets]
        total = float(sum(weights))
        self.p_datasets = [w / total for w in weights]
        self.samples_per_epoch = samples_per_epoch
        self.max_gap = max_gap
        self.num_test_frames = num_test_frames
        self.num_train_frames = num_train_frames
        self.processing = processing
        self.p_reverse = p_reverse
        self.min_sequence_frames = min_sequence_frames
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return self.samples_per_epoch

    def _usable(self, visible: torch.Tensor) -> bool:
        needed = 2 * (self.num_test_frames + self.num_train_frames)
        return int(visible.sum()) > needed and len(visible) >= self.min_sequence_frames

    def sample_frame_ids(self, visible: np.ndarray, rng: random.Random) -> tuple[list[int], list[int]]:
        """Causal train/test frame indices among visible frames (sorted in temporal order)."""
        n = len(visible)
        reverse = rng.random() < self.p_reverse
        order = np.arange(n)[::-1] if reverse else np.arange(n)
        vis = visible[order]
        visible_idx = np.flatnonzero(vis)
        bases = visible_idx[(visible_idx >= self.num_train_frames - 1) & (visible_idx < n - self.num_test_frames)]
        if len(bases) == 0:
            raise ValueError("no base frame")
        gap_increase = 0
        while gap_increase <= MAX_GAP_INCREASE:
            base = int(rng.choice(list(bases)))
            gap = self.max_gap + gap_increase
            before = [int(i) for i in visible_idx if base - gap <= i < base]
            after = [int(i) for i in visible_idx if base < i < base + gap]
            if (self.num_train_frames == 1 or before) and after:
                train = [base] + (rng.choices(before, k=self.num_train_frames - 1) if self.num_train_frames > 1 else [])
                test = rng.choices(after, k=self.num_test_frames)
                train, test = sorted(train), sorted(test)
                return [int(order[i]) for i in train], [int(order[i]) for i in test]
            gap_increase += 5
        raise ValueError("could not sample frames within the allowed gap")

    def __getitem__(self, index: int) -> Any:
        rng = random  # seeded per epoch (main process) and per worker by the trainer
        skipped = 0
        while True:
            dataset = rng.choices(self.datasets, self.p_datasets)[0]
            if dataset.is_video_sequence():
                seq_id = rng.randrange(dataset.get_num_sequences())
                info = dataset.get_sequence_info(seq_id)
                if not self._usable(info["visible"]):
                    continue
                try:
                    train_ids, test_ids = self.sample_frame_ids(info["visible"].numpy().astype(bool), rng)
                except ValueError:
                    continue
            else:
                seq_id = rng.randrange(dataset.get_num_sequences())
                info = dataset.get_sequence_info(seq_id)
                train_ids, test_ids = [0] * self.num_train_frames, [0] * self.num_test_frames
            try:
                frames, anno, meta = dataset.get_frames(seq_id, train_ids + test_ids, info)
            except ImageReadError as err:
                skipped += 1
                if str(err) not in self._warned:
                    self._warned.add(str(err))
                    warnings.warn(f"skipping unreadable training image: {err}", stacklevel=2)
                continue
            return self._package(dataset, frames, anno, len(train_ids), skipped)

    def _package(self, dataset: Any, frames: list, anno: dict, num_train: int, skipped: int) -> Any:
        masks = anno.get("mask") or [None] * len(frames)
        masks = [None if m is None else np.asarray(m, dtype=np.float32) for m in masks]
        data = {
            "dataset": dataset.get_name(),
            "train_images": frames[:num_train],
            "train_anno": anno["bbox"][:num_train],
            "train_masks": masks[:num_train],
            "test_images": frames[num_train:],
            "test_anno": anno["bbox"][num_train:],
            "test_masks": masks[num_train:],
        }
        out = self.processing(data) if self.processing is not None else data
        out["skipped_images"] = skipped
        return out
