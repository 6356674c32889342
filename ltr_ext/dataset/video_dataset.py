"""LTR's ``BaseVideoDataset`` interface over evaluation-style sequences (docs/conventions.md D.9.7).

``get_sequence_info(i)`` gives per-frame ``bbox`` (N, 4), ``valid`` (box has positive size),
``visible`` (valid and, where the benchmark marks it, not occluded/out of view) and
``visible_ratio``; ``get_frames(i, frame_ids)`` gives RGB frames, the annotations of those frames
(``bbox``, and ``mask`` when the dataset has masks) and the object's meta data. Multi-object VOS
videos are split into one entry per object (visible when the object has more than 10 pixels).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pytracking_ext.errors import DatasetError
from pytracking_ext.evaluation.data import Sequence
from pytracking_ext.settings import env_settings as pytracking_settings
from pytracking_ext.utils.io import imread_indexed, imread_rgb

VOS_VISIBLE_PIXELS = 10


class BaseVideoDataset(ABC):
    """The interface samplers use."""

    name = "video"

    def is_video_sequence(self) -> bool:
        return True

    def has_class_info(self) -> bool:
        return False

    def has_occlusion_info(self) -> bool:
        return False

    @abstractmethod
    def has_segmentation_info(self) -> bool: ...

    @abstractmethod
    def get_num_sequences(self) -> int: ...

    @abstractmethod
    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]: ...

    @abstractmethod
    def get_frames(self, seq_id: int, frame_ids: list[int], anno: dict | None = None) -> tuple[list, dict, dict]: ...

    def get_name(self) -> str:
        return self.name

    def __len__(self) -> int:
        return self.get_num_sequences()


@dataclass
class _Entry:
    sequence: Sequence
    object_id: str | None  # None: single-object sequence


class SequenceVideoDataset(BaseVideoDataset):
    """Training view of a list of :class:`Sequence` objects (one entry per object)."""

    def __init__(
        self, name: str, sequences: list[Sequence], mask_fn: Callable[[Sequence, int], np.ndarray | None] | None = None
    ) -> None:
        self.name = name
        self.entries: list[_Entry] = []
        for seq in sequences:
            if isinstance(seq.ground_truth_rect, dict):
                self.entries.extend(_Entry(seq, oid) for oid in seq.ground_truth_rect)
            else:
                self.entries.append(_Entry(seq, None))
        if not self.entries:
            raise DatasetError(f"training dataset '{name}' has no sequences")
        self._mask_fn = mask_fn
        self._info_cache: dict[int, dict[str, torch.Tensor]] = {}

    def has_segmentation_info(self) -> bool:
        return self._mask_fn is not None or any(e.sequence.ground_truth_seg for e in self.entries[:1])

    def has_occlusion_info(self) -> bool:
        return any(e.sequence.target_visible is not None for e in self.entries[:1])

    def get_num_sequences(self) -> int:
        return len(self.entries)

    def get_sequence_info(self, seq_id: int) -> dict[str, torch.Tensor]:
        if seq_id not in self._info_cache:
            entry = self.entries[seq_id]
            gt = entry.sequence.ground_truth_rect
            boxes = torch.as_tensor(np.asarray(gt[entry.object_id] if entry.object_id else gt, dtype=np.float32))
            valid = (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
            visible = valid.clone()
            if entry.sequence.target_visible is not None:
                visible &= torch.as_tensor(np.asarray(entry.sequence.target_visible, dtype=bool))
            if entry.object_id is not None:  # VOS: absent objects carry [-1, -1, -1, -1]; small ones are not visible
                visible &= boxes[:, 2] * boxes[:, 3] > VOS_VISIBLE_PIXELS
            self._info_cache[seq_id] = {
                "bbox": boxes,
                "valid": valid,
                "visible": visible,
                "visible_ratio": visible.float(),
            }
        return self._info_cache[seq_id]

    def _mask(self, entry: _Entry, frame: int) -> np.ndarray | None:
        if self._mask_fn is not None:
            return self._mask_fn(entry.sequence, frame)
        seg = entry.sequence.ground_truth_seg
        if not seg or seg[frame] is None:
            return None
        labels = imread_indexed(seg[frame])
        if entry.object_id is None:
            return (labels > 0).astype(np.uint8)
        return (labels == int(entry.object_id)).astype(np.uint8)

    def get_frames(self, seq_id: int, frame_ids: list[int], anno: dict | None = None) -> tuple[list, dict, dict]:
        entry = self.entries[seq_id]
        info = anno if anno is not None else self.get_sequence_info(seq_id)
        frames = [imread_rgb(entry.sequence.frames[i]) for i in frame_ids]
        frame_anno: dict[str, list] = {key: [value[i] for i in frame_ids] for key, value in info.items()}
        if self.has_segmentation_info():
            masks = []
            for index, image in zip(frame_ids, frames):
                mask = self._mask(entry, index)
                masks.append(
                    torch.from_numpy(mask if mask is not None else np.zeros(image.shape[:2], np.uint8)).float()
                )
            frame_anno["mask"] = masks
        meta = {
            "object_class_name": entry.sequence.object_class,
            "sequence": entry.sequence.name,
            "object_id": entry.object_id,
        }
        return frames, frame_anno, meta


def _load(key: str, root: str | Path | None, **kwargs: Any) -> list[Sequence]:
    from pytracking_ext.datasets import dataset_spec, get_dataset

    if kwargs:
        spec = dataset_spec(key)
        return list(spec.load_function()(Path(root), pytracking_settings(), **{**spec.kwargs, **kwargs}))
    return list(get_dataset(key, root=root))


def lasot(root: str | Path) -> SequenceVideoDataset:
    """LaSOT training split (sequences not in the test list); visibility from the flag files."""
    return SequenceVideoDataset("lasot", _load("lasot_train", root))


def got10k(root: str | Path, split: str = "train") -> SequenceVideoDataset:
    """GOT-10k ``split`` (visibility from absence.label and cover.label)."""
    return SequenceVideoDataset("got10k", _load("got10k_val", root, split=split))


def trackingnet(root: str | Path, chunks: tuple[int, ...] = (0,)) -> SequenceVideoDataset:
    """TrackingNet training chunks ``TRAIN_<i>``."""
    sequences = [seq for i in chunks for seq in _load("trackingnet", root, split=f"TRAIN_{i}")]
    return SequenceVideoDataset("trackingnet", sequences)


def davis(root: str | Path, version: str = "2017", split: str = "train") -> SequenceVideoDataset:
    """DAVIS videos of ``split`` with masks, one entry per object (DAVIS 2016: 0/255 masks, object 1)."""
    sequences = _load("dv2017_val", root, version=version, split=split)
    return SequenceVideoDataset("davis", sequences, _binary_mask if str(version) == "2016" else None)


def _binary_mask(seq: Sequence, frame: int) -> np.ndarray | None:
    seg = seq.ground_truth_seg
    return None if not seg or seg[frame] is None else (imread_indexed(seg[frame]) > 0).astype(np.uint8)


def youtubevos(root: str | Path, version: str = "2019", split: str = "train") -> SequenceVideoDataset:
    """YouTube-VOS training videos with masks, one entry per object."""
    return SequenceVideoDataset("youtubevos", _load("yt2019_valid", root, version=version, split=split))


def with_pregenerated_masks(dataset: SequenceVideoDataset, mask_root: str | Path) -> SequenceVideoDataset:
    """Add masks from ``<mask_root>/<sequence>/<frame stem>.png`` (binary, e.g. STA masks) to a box dataset."""
    mask_root = Path(mask_root)

    def mask_fn(seq: Sequence, frame: int) -> np.ndarray | None:
        path = mask_root / seq.name / f"{Path(seq.frames[frame]).stem}.png"
        return (imread_indexed(path) > 0).astype(np.uint8) if path.is_file() else None

    return SequenceVideoDataset(dataset.name, [e.sequence for e in dataset.entries], mask_fn)


def subset(dataset: SequenceVideoDataset, list_file: str | Path) -> SequenceVideoDataset:
    """Only the sequences named in ``list_file`` (one per line: a sequence name, or an integer index
    into the dataset's sequence order, as LTR's ``data_specs`` split files for GOT-10k are)."""
    path = Path(list_file)
    if not path.is_file():
        raise DatasetError(f"{path}: split list not found")
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    sequences = _unique_sequences(dataset)
    if lines and all(line.isdigit() for line in lines):
        bad = [line for line in lines if int(line) >= len(sequences)]
        if bad:
            raise DatasetError(f"{path}: index {bad[0]} is out of range for {len(sequences)} sequences")
        chosen = [sequences[int(line)] for line in lines]
    else:
        return only_sequences(dataset, lines, source=str(path))
    return SequenceVideoDataset(dataset.name, chosen, dataset._mask_fn)


def _unique_sequences(dataset: SequenceVideoDataset) -> list[Sequence]:
    """The dataset's sequences in order, once each (a multi-object video has several entries)."""
    return list({id(e.sequence): e.sequence for e in dataset.entries}.values())


def only_sequences(
    dataset: SequenceVideoDataset, names: list[str], source: str = "sequence list"
) -> SequenceVideoDataset:
    """The videos of ``dataset`` named in ``names`` (all objects of each); unknown names raise."""
    by_name = {seq.name: seq for seq in _unique_sequences(dataset)}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise DatasetError(
            f"{source}: {len(missing)} sequence(s) not in '{dataset.name}', e.g. '{missing[0]}'; "
            f"it has {', '.join(sorted(by_name)[:5])}{'...' if len(by_name) > 5 else ''}"
        )
    return SequenceVideoDataset(dataset.name, [by_name[name] for name in names], dataset._mask_fn)
