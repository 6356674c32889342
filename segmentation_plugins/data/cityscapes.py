"""Cityscapes video snippets: clips of L frames ending at the annotated (20th) frame of each snippet.

Layout (as downloaded, ``leftImg8bit_sequence_trainvaltest`` + ``gtFine_trainvaltest``)::

    <root>/leftImg8bit_sequence/<split>/<city>/<city>_<seq>_<frame:06d>_leftImg8bit.png   (30 per snippet)
    <root>/gtFine/<split>/<city>/<city>_<seq>_<frame:06d>_gtFine_labelIds.png             (20th frame only)

Samples are the label files found under ``gtFine/<split>``; a clip holds the frame numbers
``t0 - L + 1 .. t0`` with ``t0`` the labelled frame. One ``<city>_<seq>`` may hold several snippets
(frankfurt in val, for instance): the snippet of a label is the window ``t0 - 19 .. t0 + 10``, and
every frame on disk must lie in the snippet of some label (else its label is reported missing).
``label_kind="labelTrainIds"`` reads precomputed ``*_gtFine_labelTrainIds.png`` instead (the official
LMANet setup).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pytracking_ext.errors import DatasetError

from .clips import (
    Sample,
    Size,
    Transform,
    check_shapes,
    check_size,
    read_frame,
    read_label_values,
    resize_frame,
    resize_label,
)
from .labels import CITYSCAPES, IGNORE_INDEX, cityscapes_to_train_ids

FRAME_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIXES = {"labelIds": "_gtFine_labelIds.png", "labelTrainIds": "_gtFine_labelTrainIds.png"}
SNIPPET_LENGTH = 30
ANNOTATED_INDEX = 19  # 0-based position of the labelled frame in a 30-frame snippet (the 20th frame)


@dataclass(frozen=True)
class CityscapesSnippet:
    """One annotated snippet: its labelled frame and the frame numbers present on disk."""

    city: str
    sequence: str
    frame: int  # number of the annotated frame
    label_path: Path
    sequence_dir: Path  # leftImg8bit_sequence/<split>/<city>
    frame_numbers: tuple[int, ...]  # frames on disk in the window t0 - 19 .. t0 + 10, ascending

    @property
    def name(self) -> str:
        return f"{self.city}_{self.sequence}_{self.frame:06d}"

    def frame_path(self, number: int) -> Path:
        """Path of frame ``number`` of this snippet (whether or not it exists)."""
        return self.sequence_dir / f"{self.city}_{self.sequence}_{number:06d}{FRAME_SUFFIX}"

    def clip_numbers(self, clip_length: int) -> list[int]:
        """Frame numbers of the clip of ``clip_length`` frames ending at the annotated frame."""
        return list(range(self.frame - clip_length + 1, self.frame + 1))

    def clip_paths(self, clip_length: int) -> list[Path]:
        return [self.frame_path(n) for n in self.clip_numbers(clip_length)]


def _parse_name(path: Path, suffix: str) -> tuple[str, str, int]:
    """``(city, seq, frame)`` from ``<city>_<seq>_<frame><suffix>``: the last two fields are digits."""
    parts = path.name[: -len(suffix)].rsplit("_", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise DatasetError(f"{path}: not a Cityscapes file name (<city>_<seq>_<frame>{suffix})")
    return parts[0], parts[1], int(parts[2])


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{path}: {what} folder not found")
    return path


def find_snippets(
    root: str | os.PathLike, split: str = "val", clip_length: int = 1, label_kind: str = "labelIds"
) -> list[CityscapesSnippet]:
    """Annotated snippets of ``split``, checked so every clip of ``clip_length`` frames is on disk.

    Raises :class:`DatasetError` naming the first missing folder, the label file missing for a
    snippet of ``leftImg8bit_sequence``, or the first missing frame of a clip or a labelled frame.
    """
    if label_kind not in LABEL_SUFFIXES:
        raise ValueError(f"label_kind must be one of {', '.join(LABEL_SUFFIXES)}, got {label_kind!r}")
    if clip_length < 1:
        raise ValueError(f"clip_length must be >= 1, got {clip_length}")
    root = _require_dir(Path(root), "Cityscapes root")
    sequence_root = _require_dir(root / "leftImg8bit_sequence" / split, "Cityscapes video frames")
    label_root = _require_dir(root / "gtFine" / split, "Cityscapes labels")
    label_suffix = LABEL_SUFFIXES[label_kind]

    frames: dict[tuple[str, str], list[int]] = defaultdict(list)
    for city_dir in sorted(p for p in sequence_root.iterdir() if p.is_dir()):
        for entry in os.scandir(city_dir):
            if entry.name.endswith(FRAME_SUFFIX):
                city, seq, number = _parse_name(Path(entry.path), FRAME_SUFFIX)
                frames[city, seq].append(number)
    if not frames:
        raise DatasetError(f"{sequence_root}: no *{FRAME_SUFFIX} frames in its city folders")

    labels: dict[tuple[str, str], dict[int, Path]] = defaultdict(dict)
    for path in sorted(label_root.glob(f"*/*{label_suffix}")):
        city, seq, number = _parse_name(path, label_suffix)
        labels[city, seq][number] = path

    before, after = ANNOTATED_INDEX, SNIPPET_LENGTH - 1 - ANNOTATED_INDEX
    snippets = []
    for (city, seq), numbers in sorted(frames.items()):
        present = set(numbers)
        labelled = labels.pop((city, seq), {})
        covered: set[int] = set()
        for t0, path in sorted(labelled.items()):
            snippet = CityscapesSnippet(
                city,
                seq,
                t0,
                path,
                sequence_root / city,
                tuple(n for n in sorted(present) if t0 - before <= n <= t0 + after),
            )
            for number in snippet.clip_numbers(clip_length):
                if number not in present:
                    raise DatasetError(
                        f"{snippet.frame_path(number)}: frame not found (clip of {clip_length} "
                        f"frames ending at the annotated frame {t0:06d} of {path.name})"
                    )
            covered.update(snippet.frame_numbers)
            snippets.append(snippet)
        stray = sorted(present - covered)
        if stray:
            # Frames outside every labelled snippet: name the label their snippet's 20th frame would have
            # (the usual cause is an incomplete gtFine download).
            missing = label_root / city / f"{city}_{seq}_{stray[0] + ANNOTATED_INDEX:06d}{label_suffix}"
            raise DatasetError(
                f"{missing}: label not found for the snippet starting at {city}_{seq}_{stray[0]:06d}{FRAME_SUFFIX}"
            )
    if labels:
        (city, seq), labelled = min(labels.items())
        t0, path = min(labelled.items())
        raise DatasetError(
            f"{sequence_root / city / f'{city}_{seq}_{t0:06d}{FRAME_SUFFIX}'}: frame not found "
            f"(labelled in {path.name})"
        )
    return snippets


class CityscapesClips(torch.utils.data.Dataset):
    """Clips of ``clip_length`` frames ending at each snippet's annotated frame (see :mod:`.clips` for the sample).

    ``size`` = ``(width, height)`` resizes frames bilinearly and labels by nearest neighbour;
    ``transform`` (e.g. :class:`~segmentation_plugins.data.augment.ClipAugment`) runs last.
    """

    label_set = CITYSCAPES
    ignore_index = IGNORE_INDEX

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "val",
        clip_length: int = 4,
        size: Size | None = None,
        transform: Transform | None = None,
        label_kind: str = "labelIds",
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.clip_length = int(clip_length)
        self.size = check_size(size)
        self.transform = transform
        self.label_kind = label_kind
        self.snippets = find_snippets(self.root, split, self.clip_length, label_kind)

    def __len__(self) -> int:
        return len(self.snippets)

    def read_label(self, index: int) -> np.ndarray:
        """Train ids ``(H, W) int64`` of snippet ``index`` at the file's resolution."""
        path = self.snippets[index].label_path
        values = read_label_values(path)
        if self.label_kind == "labelTrainIds":
            valid = (values < CITYSCAPES.num_classes) | (values == IGNORE_INDEX)
            if not valid.all():
                raise DatasetError(f"{path}: value {int(values[~valid][0])} is not a Cityscapes train id")
            return values.astype(np.int64)
        return cityscapes_to_train_ids(values, source=path)

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(f"clip {index} out of range (dataset has {len(self)})")
        snippet = self.snippets[index]
        paths = snippet.clip_paths(self.clip_length)
        frames = [read_frame(p) for p in paths]
        label = self.read_label(index)
        check_shapes(frames, label, paths, snippet.label_path)
        sample: Sample = {
            "frames": np.stack([resize_frame(f, self.size) for f in frames]),
            "label": resize_label(label, self.size),
            "name": snippet.name,
            "frame_numbers": np.asarray(snippet.clip_numbers(self.clip_length), dtype=np.int64),
        }
        return self.transform(sample) if self.transform is not None else sample


__all__ = [
    "ANNOTATED_INDEX",
    "CityscapesClips",
    "CityscapesSnippet",
    "FRAME_SUFFIX",
    "LABEL_SUFFIXES",
    "SNIPPET_LENGTH",
    "find_snippets",
]
