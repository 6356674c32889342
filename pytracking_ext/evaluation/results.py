"""Writing and checking result files in PyTracking's layout.

Boxes are written as floats with two decimals, tab separated (PyTracking truncated them to
integers; ``int_boxes=True`` reproduces that for byte-identical comparisons). Masks are palette
PNGs named after the frames. Every file is written atomically and box files are written last, so
a box file's presence means the sequence finished.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..settings import EnvSettings
from ..utils.io import atomic_savetxt, imwrite_indexed
from .data import Sequence
from .tracker_spec import TrackerSpec


@dataclass
class TrackingOutput:
    """Per-frame outputs of one sequence (frame 0 = init). Multi-object entries are dicts id -> value."""

    target_bbox: list[Any] = field(default_factory=list)
    time: list[Any] = field(default_factory=list)
    object_presence_score: list[Any] = field(default_factory=list)
    segmentation: list[np.ndarray | None] = field(default_factory=list)
    image_shape: tuple[int, int] | None = None

    @property
    def multi_object(self) -> bool:
        return bool(self.target_bbox) and isinstance(self.target_bbox[0], dict)

    @property
    def has_segmentation(self) -> bool:
        return any(m is not None for m in self.segmentation)


def is_multi_object(seq: Sequence) -> bool:
    return bool(seq.multiobj_mode and seq.object_ids)


def box_files(seq: Sequence, results_dir: Path) -> list[Path]:
    """The box files that mark a finished sequence."""
    if is_multi_object(seq):
        return [results_dir / f"{seq.name}_{oid}.txt" for oid in seq.object_ids]
    return [results_dir / f"{seq.name}.txt"]


def mask_files(seq: Sequence, segmentation_dir: Path) -> list[Path]:
    folder = segmentation_dir / seq.name
    names = [Path(f).stem for f in seq.dropped_frames] + seq.frame_names
    return [folder / f"{name}.png" for name in names]


def results_complete(seq: Sequence, spec: TrackerSpec, settings: EnvSettings, with_masks: bool) -> bool:
    """True when every box file (and, for mask trackers, every PNG) of ``seq`` exists."""
    files = box_files(seq, spec.results_dir(settings))
    if with_masks:
        files += mask_files(seq, spec.segmentation_dir(settings))
    return all(f.is_file() for f in files)


def _write_column(path: Path, values: list[float]) -> None:
    atomic_savetxt(path, np.asarray(values, dtype=np.float64).reshape(-1, 1), fmt="%f")


def _write_boxes(path: Path, boxes: list[Any], int_boxes: bool) -> None:
    array = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if int_boxes:
        atomic_savetxt(path, np.trunc(array).astype(np.int64), fmt="%d")
    else:
        atomic_savetxt(path, array, fmt="%.2f")


def save_masks(seq: Sequence, output: TrackingOutput, segmentation_dir: Path) -> None:
    """One PNG per frame (all-background for frames dropped before the first object)."""
    folder = segmentation_dir / seq.name
    shape = output.image_shape
    first = next((m for m in output.segmentation if m is not None), None)
    if first is not None:
        shape = first.shape[:2]
    empty = np.zeros(shape, dtype=np.uint8)
    for path in [folder / f"{Path(f).stem}.png" for f in seq.dropped_frames]:
        imwrite_indexed(path, empty)
    for name, mask in zip(seq.frame_names, output.segmentation):
        imwrite_indexed(folder / f"{name}.png", empty if mask is None else np.asarray(mask).astype(np.uint8))


def save_tracker_output(seq: Sequence, spec: TrackerSpec, output: TrackingOutput, settings: EnvSettings,
                        int_boxes: bool = False) -> None:
    """Write boxes, times, presence scores and masks of one sequence."""
    results_dir = spec.results_dir(settings)
    if output.has_segmentation:
        save_masks(seq, output, spec.segmentation_dir(settings))
    if output.multi_object:
        object_ids = seq.object_ids or sorted({k for d in output.target_bbox for k in d}, key=str)
        for oid in object_ids:
            rows = [d[oid] for d in output.target_bbox if oid in d]
            times = [d[oid] for d in output.time if isinstance(d, dict) and oid in d]
            scores = [d[oid] for d in output.object_presence_score if isinstance(d, dict) and oid in d]
            if times:
                _write_column(results_dir / f"{seq.name}_{oid}_time.txt", times)
            if scores:
                _write_column(results_dir / f"{seq.name}_{oid}_object_presence_scores.txt", scores)
            _write_boxes(results_dir / f"{seq.name}_{oid}.txt", rows, int_boxes)
        return
    _write_column(results_dir / f"{seq.name}_time.txt", output.time)
    if output.object_presence_score:
        _write_column(results_dir / f"{seq.name}_object_presence_scores.txt", output.object_presence_score)
    _write_boxes(results_dir / f"{seq.name}.txt", output.target_bbox, int_boxes)
