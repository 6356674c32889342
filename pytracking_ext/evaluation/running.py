"""Run trackers over datasets: the per-frame loop, resume, failure reports, worker processes.

Differences from PyTracking, on purpose: every frame must carry ``target_bbox`` (a tracker that
skips it fails with a message instead of corrupting the results), frames of one sequence must share
one size, a failing sequence leaves ``<seq>.error.txt`` with its traceback next to the results and
makes the run's exit status non-zero, and a sequence's outputs commit as a unit (see
``results.py``): it counts as finished only when its completion record matches its files. The
results folders are checked for writability before anything is tracked, and Ctrl-C stops the run
with what was finished committed (exit status 130).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..errors import DatasetError, ResultsError, TrackerInputError
from ..settings import EnvSettings, env_settings
from ..trackers.multiobject import MultiObjectWrapper
from ..utils.boxes import validate_init_box
from ..utils.io import atomic_write_text, imread_rgb
from ..utils.progress import Progress
from ..utils.progress import progress as progress_items
from ..visualization.debug import open_debug_views
from .data import Sequence
from .results import (
    TrackingOutput,
    invalidate_results,
    is_multi_object,
    remove_stale_staging,
    results_complete,
    save_tracker_output,
)
from .tracker_factory import build_tracker
from .tracker_spec import TrackerSpec

FrameCallback = Callable[[int, np.ndarray, dict], None]


@dataclass
class RunSummary:
    """What happened to each (sequence, tracker) pair of a run."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    total: int = 0
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """130 after Ctrl-C (the shell's code for SIGINT), 1 when a sequence failed, else 0."""
        if self.interrupted:
            return 130
        return 1 if self.failed else 0

    @property
    def finished(self) -> int:
        """Sequences whose results are complete (tracked in this run or before)."""
        return len(self.done) + len(self.skipped)

    def merge(self, status: str, key: str, message: str = "") -> None:
        if status == "failed":
            self.failed[key] = message
        else:
            getattr(self, status).append(key)


def ensure_writable_folder(folder: Path, what: str, keep: bool = True) -> None:
    """Create ``folder`` and write and remove a probe file in it; one-line ResultsError if that fails.

    With ``keep=False`` the folders created for the probe are removed again (a folder that a run
    may never need, such as the mask folder of a box tracker, is not left behind empty).
    """
    folder = Path(folder)
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ResultsError(f"{what} {folder} is not writable ({_unwritable_reason(folder, err)})") from None
    finally:
        if not keep:
            for path in missing:  # deepest first
                try:
                    path.rmdir()
                except OSError:
                    break


def _unwritable_reason(folder: Path, err: OSError) -> str:
    """Why ``folder`` cannot be written: a file in the way, or the system's reason."""
    existing = next((p for p in [folder, *folder.parents] if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return "it is a file" if existing == folder else f"{existing} is a file"
    return err.strerror or str(err)


def check_output_folders(trackers: list[TrackerSpec], settings: EnvSettings) -> None:
    """Fail before any tracking when a results folder (or a mask tracker's mask folder) is not writable."""
    for spec in trackers:
        ensure_writable_folder(spec.results_dir(settings), "results folder")
        try:
            with_masks = build_tracker(spec).predicts_segmentation_mask()
        except Exception:  # noqa: BLE001 - a tracker that cannot be built fails per sequence, with its message
            with_masks = False
        if with_masks:
            ensure_writable_folder(spec.segmentation_dir(settings), "segmentation folder", keep=False)


def _check_frame(path: str, image: np.ndarray, shape: tuple[int, int] | None) -> None:
    if shape is not None and image.shape[:2] != shape:
        raise DatasetError(
            f"{path}: frame is {image.shape[1]}x{image.shape[0]}, "
            f"but the sequence's first frame is {shape[1]}x{shape[0]}"
        )


def _check_init(info: dict[str, Any], shape: tuple[int, int]) -> None:
    boxes = info.get("init_bbox")
    if boxes is None and info.get("init_mask") is None:
        raise TrackerInputError("init frame has neither init_bbox nor init_mask")
    if boxes is not None:
        for box in boxes.values() if isinstance(boxes, dict) else [boxes]:
            validate_init_box(box, shape)
    mask = info.get("init_mask")
    if mask is not None and np.asarray(mask).shape != shape:
        raise TrackerInputError(f"init_mask has shape {np.asarray(mask).shape}, the image is {shape}")


def iter_tracked_frames(
    tracker,
    frames: Iterable[tuple[int, str, np.ndarray]],
    frame_info: Callable[[int], dict],
    multiobject: bool | None = None,
) -> Iterator[tuple[int, str, np.ndarray, dict[str, Any]]]:
    """Run ``tracker`` over ``(index, name, RGB image)`` frames, yielding ``(index, name, image, out)``.

    The tracker is driven through the public API (:class:`~pytracking_ext.api.VideoTracker`, the one
    way every caller drives trackers): objects start where ``frame_info`` gives them (frame 0, and
    later frames for late objects), passed on as the dataset gave them; every other frame is tracked.
    ``out`` is the tracker's own output of the frame (its contract's keys, what the result files
    hold) and always holds ``target_bbox`` and ``time``; every frame must have one size.
    ``multiobject``: the tracker follows the multi-object protocol (default: when it is a
    :class:`MultiObjectWrapper`; :func:`track_sequence` decides from the sequence). A generator, so
    that a caller can show each frame as it is tracked and stop early.
    """
    from ..api.tracker import VideoTracker  # the API builds on this package's tracker factory

    if multiobject is None:
        multiobject = isinstance(tracker, MultiObjectWrapper)
    driver = VideoTracker.from_tracker(tracker, multiobject=multiobject)  # networks load here, untimed
    shape: tuple[int, int] | None = None
    for index, name, image in frames:
        _check_frame(name, image, shape)
        shape = image.shape[:2]
        start = time.perf_counter()
        info = frame_info(index)
        if index == 0:
            _check_init(info, shape)
        if index == 0 or info.get("init_object_ids"):
            driver.start_objects(image, info)
        else:
            driver.track(image)
        elapsed = time.perf_counter() - start
        out = dict(driver.last_output)
        if out.get("target_bbox") is None:
            raise TrackerInputError(f"{name} (frame {index}): the tracker returned no 'target_bbox'")
        out.setdefault("time", elapsed)
        yield index, name, image, out


def track_frames(
    tracker,
    frames: Iterable[tuple[int, str, np.ndarray]],
    frame_info: Callable[[int], dict],
    on_frame: FrameCallback | None = None,
    multiobject: bool | None = None,
) -> TrackingOutput:
    """Run ``tracker`` over ``(index, name, RGB image)`` frames (see :func:`iter_tracked_frames`) and
    collect the outputs; ``frame_info(i)`` gives the init info, ``on_frame`` sees every frame."""
    output = TrackingOutput()
    predicts_mask = tracker.predicts_segmentation_mask()
    shape: tuple[int, int] | None = None
    for index, _name, image, out in iter_tracked_frames(tracker, frames, frame_info, multiobject):
        shape = image.shape[:2]
        output.target_bbox.append(out["target_bbox"])
        output.time.append(out["time"])
        # Only what the tracker said: a tracker without presence scores gets no score file (a column
        # of made-up 1.0 values would read as "always certain"); see results.write_result_files.
        if "object_presence_score" in out:
            output.object_presence_score.append(out["object_presence_score"])
        segmentation = out.get("segmentation") if predicts_mask else None
        output.segmentation.append(None if segmentation is None else np.asarray(segmentation))
        if on_frame is not None:
            on_frame(index, image, out)
    output.image_shape = shape
    output.object_presence_score = complete_presence_scores(output.object_presence_score, len(output.target_bbox))
    return output


def complete_presence_scores(scores: list[Any], frames: int) -> list[Any]:
    """The presence scores to save: all of them when the tracker gave one on every frame (per object:
    the objects it scored on every frame), else none, so that a score file always has one row per
    frame and never mixes the tracker's scores with gaps."""
    if len(scores) != frames:
        return []
    if not any(isinstance(s, dict) for s in scores):
        return scores
    if not all(isinstance(s, dict) for s in scores):
        return []
    scored = set.intersection(*(set(s) for s in scores)) if scores else set()
    return [OrderedDict((oid, value) for oid, value in s.items() if oid in scored) for s in scores]


def track_sequence(
    tracker, seq: Sequence, progress: bool = True, on_frame: FrameCallback | None = None
) -> TrackingOutput:
    """Run ``tracker`` over the frames of ``seq`` (with a progress bar over frames on a terminal)."""
    paths = progress_items(seq.frames, len(seq.frames), seq.name, "frame", leave=False, lines=False, enabled=progress)
    frames = ((index, path, imread_rgb(path)) for index, path in enumerate(paths))
    return track_frames(tracker, frames, seq.frame_info, on_frame=on_frame, multiobject=_multiobject(tracker, seq))


def _multiobject(tracker, seq: Sequence) -> bool:
    """Whether ``tracker`` takes ``seq``'s objects through the multi-object protocol: the wrapper
    always; a tracker taking several objects itself ('default' mode) on a multi-object sequence."""
    return isinstance(tracker, MultiObjectWrapper) or is_multi_object(seq)


def _sequence_fps(output: TrackingOutput) -> float:
    total = sum(sum(t.values()) if isinstance(t, dict) else t for t in output.time)
    return len(output.time) / total if total > 0 else float("inf")


def run_sequence(
    seq: Sequence,
    spec: TrackerSpec,
    settings: EnvSettings | None = None,
    debug: int = 0,
    overwrite: bool = False,
    int_boxes: bool = False,
    progress: bool = True,
    visdom_info: dict | None = None,
) -> tuple[str, str]:
    """Track one sequence and save its results; returns ``(status, message)``.

    Status is 'skipped' (results complete), 'done' or 'failed'. With ``debug > 0`` errors
    propagate with their traceback instead of being recorded, and debug views go to visdom
    (``visdom_info = {'use_visdom': True, 'server': ..., 'port': ...}``) or to PNG files in
    ``<results_dir>/debug/<sequence>/``.
    """
    settings = settings or env_settings()
    results_dir = spec.results_dir(settings)
    error_file = results_dir / f"{seq.name}.error.txt"
    try:
        tracker = build_tracker(spec, seq, debug=debug)
        with_masks = tracker.predicts_segmentation_mask()
        redo = overwrite or bool(debug)
        if not redo and results_complete(seq, spec, settings, with_masks):
            return "skipped", ""
        remove_stale_staging(seq, results_dir, spec.segmentation_dir(settings))
        if redo:
            # An interrupted re-run must be redone by the next run, not skipped on the old files
            # (which stay in place until the new ones commit).
            invalidate_results(seq, spec, settings)
        views = open_debug_views(debug, results_dir / "debug", **(visdom_info or {})) if debug else None
        on_frame = None
        if views is not None:
            tracker.debug_views = views
            views.start_sequence(seq.name)
            on_frame = lambda index, image, out: views.end_frame(image, out, with_masks)  # noqa: E731
        try:
            output = track_sequence(tracker, seq, progress=progress, on_frame=on_frame)
        finally:
            if views is not None:
                views.close()
        save_tracker_output(seq, spec, output, settings, int_boxes=int_boxes)
    except Exception as err:  # one bad sequence must not stop the others
        if debug:
            raise
        message = f"{type(err).__name__}: {err}"
        _write_error_file(error_file, f"{spec.label} on {seq.name}\n{traceback.format_exc()}")
        return "failed", message
    error_file.unlink(missing_ok=True)
    return "done", f"{_sequence_fps(output):.1f} FPS"


def _write_error_file(path: Path, text: str) -> None:
    """Keep the traceback next to the results; a folder that became unwritable must not hide the error."""
    try:
        atomic_write_text(path, text)
    except OSError as err:
        print(f"could not write {path}: {err.strerror or err}", file=sys.stderr)


def _init_worker() -> None:
    """Worker initializer: Ctrl-C is handled by the parent, which terminates the workers itself.

    tqdm's default lock is a multiprocessing semaphore; a terminated worker cannot release it and
    multiprocessing then warns about leaked semaphores, so workers (which show no bars) use a
    thread lock.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tqdm.set_lock(threading.RLock())


def _run_pair(args: tuple) -> tuple[str, str, str]:
    seq, spec, settings, overwrite, int_boxes = args
    status, message = run_sequence(seq, spec, settings, 0, overwrite, int_boxes, progress=False)
    return f"{spec.label}/{seq.name}", status, message


def run_dataset(
    dataset: list[Sequence],
    trackers: list[TrackerSpec],
    workers: int = 0,
    debug: int = 0,
    overwrite: bool = False,
    settings: EnvSettings | None = None,
    int_boxes: bool = False,
    visdom_info: dict | None = None,
    *,
    threads: int | None = None,
) -> RunSummary:
    """Run every tracker on every sequence (sequence-major); ``workers > 0`` uses worker processes.

    ``threads`` is the former name of ``workers`` (callers not yet renamed). Debugging
    (``debug > 0``) always runs in this process, one sequence after the other.
    """
    if threads is not None:
        workers = threads
    settings = settings or env_settings()
    check_output_folders(list(trackers), settings)
    pairs = [(seq, spec, settings, overwrite, int_boxes) for seq in dataset for spec in trackers]
    summary = RunSummary(total=len(pairs))
    bar = Progress(len(pairs), "sequences", "seq")
    try:
        if workers > 0 and not debug:
            # On Ctrl-C the workers are terminated; a sequence they were writing has no completion
            # record, so the next run tracks it again.
            pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker)
            try:
                for key, status, message in pool.imap_unordered(_run_pair, pairs):
                    _report(bar, summary, key, status, message)
            finally:
                pool.terminate()
                pool.join()
        else:
            for seq, spec, *_ in pairs:
                bar.set_postfix_str(seq.name)
                status, message = run_sequence(
                    seq, spec, settings, debug, overwrite, int_boxes, visdom_info=visdom_info
                )
                _report(bar, summary, f"{spec.label}/{seq.name}", status, message)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
    return summary


def _report(bar: Progress, summary: RunSummary, key: str, status: str, message: str) -> None:
    summary.merge(status, key, message)
    if status == "failed":
        bar.advance(f"FAILED {key}: {message}")
    elif status == "done":
        bar.advance(f"{key}: {message}")
    else:
        bar.advance(f"{key}: skipped (already complete)" if not bar.is_bar else "")


def print_summary(summary: RunSummary, results_root: Path | None = None) -> None:
    """One line of counts, then one line per failed sequence; after Ctrl-C one line on stderr."""
    if summary.interrupted:
        failed = f", {len(summary.failed)} failed" if summary.failed else ""
        where = f"; results so far kept in {results_root}" if results_root is not None else ""
        print(f"interrupted: {summary.finished} of {summary.total} sequences finished{failed}{where}", file=sys.stderr)
        return
    print(f"done {len(summary.done)}, skipped (already complete) {len(summary.skipped)}, failed {len(summary.failed)}")
    for key, message in summary.failed.items():
        print(f"  failed {key}: {message}")
    if summary.failed and results_root is not None:
        print(f"  tracebacks: <results folder>/<sequence>.error.txt under {results_root}")
