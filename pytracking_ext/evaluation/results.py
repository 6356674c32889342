"""Writing and checking result files in PyTracking's layout.

Boxes are written as floats with two decimals, tab separated (PyTracking truncated them to
integers; ``int_boxes=True`` reproduces that for byte-identical comparisons). Masks are palette
PNGs named after the frames.

A sequence's outputs commit as a unit. Every file is first written into hidden staging folders
next to its destination (``.<seq>.staging-*``, same file system, so moving is a rename); only then
are they moved into place, the previous run's outputs of that sequence that the new run does not
write are removed, and a completion record ``.<seq>.complete.json`` (the sha256 of every file) is
written last. A sequence is complete only when that record exists, is marked complete and every
file it lists is present with its recorded content: a run stopped at any point (Ctrl-C, a crash,
a kill) leaves the sequence incomplete or exactly as the previous run left it, never a mix that
counts as finished.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..settings import EnvSettings
from ..utils.io import atomic_savetxt, atomic_write_text, imwrite_indexed
from .data import Sequence
from .tracker_spec import TrackerSpec

RECORD_VERSION = 1


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
    """The box files of a sequence (a finished sequence's completion record lists them all)."""
    if is_multi_object(seq):
        return [results_dir / f"{seq.name}_{oid}.txt" for oid in seq.object_ids]
    return [results_dir / f"{seq.name}.txt"]


def mask_files(seq: Sequence, segmentation_dir: Path) -> list[Path]:
    folder = segmentation_dir / seq.name
    names = [Path(f).stem for f in seq.dropped_frames] + seq.frame_names
    return [folder / f"{name}.png" for name in names]


def completion_record(seq: Sequence, results_dir: Path) -> Path:
    """The record whose presence (and match) marks ``seq`` as finished in ``results_dir``."""
    return results_dir / f".{seq.name}.complete.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_record(path: Path) -> dict[str, Any] | None:
    """The parsed record, or None when it is missing or unreadable (then the sequence is incomplete)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("results"), dict)
        or not isinstance(record.get("masks"), dict)
    ):
        return None
    return record


def _own_result_name(seq: Sequence, name: str) -> bool:
    """True for a file name this runner writes for ``seq`` in the results folder (records are not trusted)."""
    return PurePosixPath(name).name == name and name.startswith(seq.name) and name.endswith(".txt")


def _own_mask_name(seq: Sequence, name: str) -> bool:
    """True for ``<seq>/<frame>.png``, the only mask paths this runner writes for ``seq``."""
    parts = PurePosixPath(name).parts
    return len(parts) == 2 and parts[0] == seq.name and parts[1].endswith(".png") and ".." not in parts


def results_complete(seq: Sequence, spec: TrackerSpec, settings: EnvSettings, with_masks: bool) -> bool:
    """True when ``seq``'s completion record exists and every file it lists (box files, and PNGs for
    mask trackers) is present with the recorded content."""
    results_dir = spec.results_dir(settings)
    record = _read_record(completion_record(seq, results_dir))
    if record is None or record.get("complete") is not True or record.get("sequence") != seq.name:
        return False
    results, masks = record["results"], record["masks"]
    if not all(_own_result_name(seq, n) for n in results) or not all(_own_mask_name(seq, n) for n in masks):
        return False  # a record naming other files was not written by this runner
    if any(f.name not in results for f in box_files(seq, results_dir)):
        return False
    segmentation_dir = spec.segmentation_dir(settings)
    if with_masks and any(f"{seq.name}/{f.name}" not in masks for f in mask_files(seq, segmentation_dir)):
        return False
    listed = [(results_dir / name, digest) for name, digest in results.items()]
    listed += [(segmentation_dir / name, digest) for name, digest in masks.items()]
    try:
        return all(path.is_file() and _sha256(path) == digest for path, digest in listed)
    except OSError:
        return False


def invalidate_results(seq: Sequence, spec: TrackerSpec, settings: EnvSettings) -> None:
    """Mark ``seq`` as not finished, keeping its files (they are replaced when new results commit).

    The record keeps listing the old files so that the commit can remove those the new run does
    not write.
    """
    path = completion_record(seq, spec.results_dir(settings))
    record = _read_record(path)
    if record is not None:
        _mark_incomplete(path, record)


def _mark_incomplete(path: Path, record: dict[str, Any]) -> None:
    if record.get("complete") is not False:
        atomic_write_text(path, json.dumps({**record, "complete": False}, indent=1))


def _write_column(path: Path, values: list[float]) -> None:
    atomic_savetxt(path, np.asarray(values, dtype=np.float64).reshape(-1, 1), fmt="%f")


def _write_boxes(path: Path, boxes: list[Any], int_boxes: bool) -> None:
    array = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if int_boxes:
        atomic_savetxt(path, np.trunc(array).astype(np.int64), fmt="%d")
    else:
        atomic_savetxt(path, array, fmt="%.2f")


def save_masks(seq: Sequence, output: TrackingOutput, folder: Path) -> list[str]:
    """One PNG per frame in ``folder`` (all-background for frames dropped before the first object).

    Returns the file names written.
    """
    shape = output.image_shape
    first = next((m for m in output.segmentation if m is not None), None)
    if first is not None:
        shape = first.shape[:2]
    empty = np.zeros(shape, dtype=np.uint8)
    names = []
    for name in [Path(f).stem for f in seq.dropped_frames]:
        imwrite_indexed(folder / f"{name}.png", empty)
        names.append(f"{name}.png")
    for name, mask in zip(seq.frame_names, output.segmentation):
        imwrite_indexed(folder / f"{name}.png", empty if mask is None else np.asarray(mask).astype(np.uint8))
        names.append(f"{name}.png")
    return names


def write_result_files(seq: Sequence, output: TrackingOutput, folder: Path, int_boxes: bool = False) -> list[str]:
    """Write boxes, times and presence scores of ``seq`` into ``folder``; returns the file names."""
    written: list[str] = []

    def column(name: str, values: list[Any]) -> None:
        _write_column(folder / name, values)
        written.append(name)

    def boxes(name: str, rows: list[Any]) -> None:
        _write_boxes(folder / name, rows, int_boxes)
        written.append(name)

    if output.multi_object:
        object_ids = seq.object_ids or sorted({k for d in output.target_bbox for k in d}, key=str)
        for oid in object_ids:
            rows = [d[oid] for d in output.target_bbox if oid in d]
            times = [d[oid] for d in output.time if isinstance(d, dict) and oid in d]
            scores = [d[oid] for d in output.object_presence_score if isinstance(d, dict) and oid in d]
            if times:
                column(f"{seq.name}_{oid}_time.txt", times)
            if scores:
                column(f"{seq.name}_{oid}_object_presence_scores.txt", scores)
            boxes(f"{seq.name}_{oid}.txt", rows)
        return written
    column(f"{seq.name}_time.txt", output.time)
    if output.object_presence_score:
        column(f"{seq.name}_object_presence_scores.txt", output.object_presence_score)
    boxes(f"{seq.name}.txt", output.target_bbox)
    return written


def _staging_prefix(seq: Sequence) -> str:
    return f".{seq.name}.staging-"


def remove_stale_staging(seq: Sequence, *folders: Path) -> None:
    """Remove staging folders of ``seq`` left in ``folders`` by a run that was killed."""
    for folder in folders:
        for path in glob.glob(os.path.join(glob.escape(str(folder)), glob.escape(_staging_prefix(seq)) + "*")):
            shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    """Make the renames into ``folder`` durable before the record that vouches for them is written."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not supported on every file system; the ordering still holds for killed processes
    finally:
        os.close(fd)


def _commit(
    seq: Sequence,
    results_dir: Path,
    segmentation_dir: Path,
    staged_results: Path,
    staged_masks: Path | None,
    results: dict[str, str],
    masks: dict[str, str],
) -> None:
    """Move the staged files into place, drop the old outputs the new run did not write, record completion."""
    record_path = completion_record(seq, results_dir)
    old = _read_record(record_path)
    if old is not None:
        _mark_incomplete(record_path, old)  # from here until the new record is written
    else:
        record_path.unlink(missing_ok=True)  # an unreadable record vouches for nothing
        old = {"results": {}, "masks": {}}
    for name in results:
        os.replace(staged_results / name, results_dir / name)
    mask_folder = segmentation_dir / seq.name
    if staged_masks is not None:
        mask_folder.mkdir(parents=True, exist_ok=True)
        for name in masks:
            os.replace(staged_masks / PurePosixPath(name).name, segmentation_dir / name)
        # PNGs of frames this run did not write (a previous run of a longer version of the sequence).
        stale_masks = [f"{seq.name}/{p.name}" for p in mask_folder.glob("*.png")]
    else:
        stale_masks = []
    stale_results = [n for n in old["results"] if n not in results and _own_result_name(seq, n)]
    stale_masks = {n for n in stale_masks + list(old["masks"]) if n not in masks and _own_mask_name(seq, n)}
    for path in [results_dir / n for n in stale_results] + [segmentation_dir / n for n in sorted(stale_masks)]:
        path.unlink(missing_ok=True)
    _fsync_dir(results_dir)
    if staged_masks is not None:
        _fsync_dir(mask_folder)
    record = {"version": RECORD_VERSION, "sequence": seq.name, "complete": True, "results": results, "masks": masks}
    atomic_write_text(record_path, json.dumps(record, indent=1))


def save_tracker_output(
    seq: Sequence, spec: TrackerSpec, output: TrackingOutput, settings: EnvSettings, int_boxes: bool = False
) -> None:
    """Write boxes, times, presence scores and masks of one sequence, committed as a unit."""
    results_dir = spec.results_dir(settings)
    segmentation_dir = spec.segmentation_dir(settings)
    results_dir.mkdir(parents=True, exist_ok=True)
    staged_results = Path(tempfile.mkdtemp(prefix=_staging_prefix(seq), dir=results_dir))
    staged_masks: Path | None = None
    try:
        names = write_result_files(seq, output, staged_results, int_boxes)
        results = {name: _sha256(staged_results / name) for name in names}
        masks: dict[str, str] = {}
        if output.has_segmentation:
            segmentation_dir.mkdir(parents=True, exist_ok=True)
            staged_masks = Path(tempfile.mkdtemp(prefix=_staging_prefix(seq), dir=segmentation_dir))
            for name in save_masks(seq, output, staged_masks):
                masks[f"{seq.name}/{name}"] = _sha256(staged_masks / name)
        _commit(seq, results_dir, segmentation_dir, staged_results, staged_masks, results, masks)
    finally:
        for folder in (staged_results, staged_masks):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
