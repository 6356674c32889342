"""Track objects in your own video, image folder or webcam, headless.

    python -m pytracking_ext.run_video TRACKER PARAM --input VIDEO_OR_FOLDER_OR_WEBCAM_INDEX \\
        --init-box x,y,w,h [--init-box x,y,w,h ...] [--init-mask PNG] --out DIR

Writes into ``DIR``: ``boxes.txt`` (one object) or ``boxes_<id>.txt`` (several; ids 1, 2, ... in
the order of ``--init-box``, or the label values of ``--init-mask``), ``time.txt``, ``masks/<frame>.png``
for trackers that predict masks, and ``overlay.mp4``. Frames are read as RGB and no window is
ever opened. Stopping with Ctrl-C keeps everything tracked so far. The tracker runs through the
public API (:class:`pytracking_ext.VideoTracker`, docs/api.md): a frame where an object is lost
(presence score below the parameter set's ``presence_threshold``) has an empty mask and the box
``nan nan nan nan``; nothing is kept per frame but the boxes and times written at the end.

Outputs are written into a hidden staging folder inside ``DIR`` and moved into place when the run
ends; then the files of an earlier run that this run did not write (and only files this tool
writes: the names above) are removed, so ``DIR`` holds this run's outputs and no stale masks.
A run that is killed leaves ``DIR`` as the previous run left it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cli import add_debug_arguments, visdom_info
from .errors import PytrackingError
from .evaluation.results import TrackingOutput
from .evaluation.tracker_spec import TrackerSpec
from .utils.boxes import mask_to_bbox
from .utils.io import atomic_savetxt, imwrite_indexed
from .utils.progress import progress
from .visualization import VideoSink, draw_overlay
from .visualization.debug import open_debug_views


def parse_box(text: str) -> list[float]:
    """``"x,y,w,h"`` -> four floats (argparse type)."""
    parts = text.replace(" ", "").split(",")
    try:
        box = [float(p) for p in parts]
    except ValueError:
        box = []
    if len(box) != 4:
        raise argparse.ArgumentTypeError(f"--init-box: expected x,y,w,h, got '{text}'")
    return box


def initial_objects(boxes: list[list[float]], mask_path: str | None) -> tuple[dict[str, Any], list[str]]:
    """The init ``info`` and object ids from ``--init-box`` values and/or an ``--init-mask`` label PNG."""
    if mask_path is not None:
        from .datasets.own_video import read_init_mask

        label = read_init_mask(mask_path)
        ids = [str(v) for v in np.unique(label) if v != 0]
        if not ids:
            raise PytrackingError(f"{mask_path}: the init mask contains no object (all pixels are 0)")
        if boxes and len(boxes) != len(ids):
            raise PytrackingError(f"--init-box given {len(boxes)} times but {mask_path} has {len(ids)} objects")
        box_of = {oid: (boxes[i] if boxes else mask_to_bbox(label == int(oid))) for i, oid in enumerate(ids)}
        if len(ids) == 1:
            return {"init_bbox": box_of[ids[0]], "init_mask": (label > 0).astype(np.uint8)}, ids
        return {
            "init_bbox": OrderedDict(box_of),
            "init_mask": label,
            "init_object_ids": ids,
            "object_ids": ids,
            "sequence_object_ids": ids,
        }, ids
    if not boxes:
        raise PytrackingError("give at least one --init-box x,y,w,h or an --init-mask PNG")
    if len(boxes) == 1:
        return {"init_bbox": boxes[0]}, ["1"]
    ids = [str(i + 1) for i in range(len(boxes))]
    return {
        "init_bbox": OrderedDict(zip(ids, boxes)),
        "init_object_ids": ids,
        "object_ids": ids,
        "sequence_object_ids": ids,
    }, ids


def objects_to_add(info: dict[str, Any], ids: list[str]) -> dict[int, dict[str, Any]]:
    """``{obj_id: add_object keywords}`` of the init ``info`` that :func:`initial_objects` returns."""
    boxes, mask = info.get("init_bbox"), info.get("init_mask")
    objects: dict[int, dict[str, Any]] = {}
    for oid in ids:
        box = boxes.get(oid) if isinstance(boxes, dict) else boxes
        if mask is None:
            objects[int(oid)] = {"box": box}
        else:
            own = np.asarray(mask) == int(oid) if len(ids) > 1 else np.asarray(mask) > 0
            objects[int(oid)] = {"box": box, "mask": own}
    return objects


NO_BOX = [float("nan")] * 4


@dataclass
class TrackedFrame:
    """One frame driven through the API: the written mask (label image, or 0/1 for one object),
    the boxes of the found objects (for the overlay) and every object's box (NaN where lost)."""

    index: int
    name: str
    image: np.ndarray
    label: np.ndarray | None
    mask: np.ndarray | None
    found: dict[str, list[float]]
    boxes: Any  # one box, or object id -> box, as the result files hold them
    time: float


def tracked_frames(
    tracker, frames: Iterable[tuple[int, str, np.ndarray]], objects: dict[int, dict[str, Any]], ids: list[str]
) -> Iterator[TrackedFrame]:
    """Start ``objects`` on frame 0 of ``frames`` and track them through the rest with ``tracker``
    (a :class:`pytracking_ext.VideoTracker`): the one per-frame loop of ``run_video`` and the web page."""
    for index, name, image in frames:
        start = time.perf_counter()
        if index == 0:
            for oid, region in objects.items():
                tracker.add_object(image, obj_id=oid, **region)
        result = tracker.track(image)
        # the time of the frame: the objects' starts on the first, tracking on the others
        elapsed = time.perf_counter() - start
        label = result.label_map(image.shape[:2]) if tracker.predicts_mask else None
        mask = None if label is None else (label if len(ids) > 1 else (label > 0)).astype(np.uint8)
        found = {str(oid): list(obj.box) for oid, obj in result.items() if obj.box is not None}
        boxes = {oid: found.get(oid, NO_BOX) for oid in ids}
        yield TrackedFrame(index, name, image, label, mask, found, boxes if len(ids) > 1 else boxes[ids[0]], elapsed)


def write_outputs(out_dir: Path, output: TrackingOutput, ids: list[str]) -> list[Path]:
    """Boxes and times of the frames tracked so far (float boxes, tab separated)."""
    written = []
    if output.multi_object:
        for oid in ids:
            rows = [frame[oid] for frame in output.target_bbox if oid in frame]
            atomic_savetxt(out_dir / f"boxes_{oid}.txt", np.asarray(rows, dtype=np.float64).reshape(-1, 4))
            written.append(out_dir / f"boxes_{oid}.txt")
        times = [sum(t.values()) if isinstance(t, dict) else t for t in output.time]
    else:
        atomic_savetxt(out_dir / "boxes.txt", np.asarray(output.target_bbox, dtype=np.float64).reshape(-1, 4))
        written.append(out_dir / "boxes.txt")
        times = output.time
    atomic_savetxt(out_dir / "time.txt", np.asarray(times).reshape(-1, 1), fmt="%f")
    written.append(out_dir / "time.txt")
    return written


STAGING_PREFIX = ".run_video-"
# The files this tool writes at the top of its output folder (and PNGs in masks/); nothing else
# in the folder is ever removed.
OUTPUT_NAME = re.compile(r"(boxes(_\d+)?\.txt|time\.txt|overlay\.mp4|\.overlay\.partial\.mp4)")


def own_outputs(out_dir: Path) -> list[Path]:
    """The files in ``out_dir`` that this tool writes (outputs of this or an earlier run)."""
    found = [p for p in out_dir.iterdir() if p.is_file() and OUTPUT_NAME.fullmatch(p.name)]
    masks = out_dir / "masks"
    if masks.is_dir():
        found += [p for p in masks.iterdir() if p.is_file() and p.suffix == ".png"]
    return found


def _staging_folder(out_dir: Path) -> Path:
    """Create ``out_dir`` and a fresh staging folder in it (dropping those of killed runs)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in out_dir.glob(f"{STAGING_PREFIX}*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as err:
        reason = "it is a file" if out_dir.is_file() else (err.strerror or str(err))
        raise PytrackingError(f"--out {out_dir}: cannot write there ({reason})") from None


def commit_outputs(staging: Path, out_dir: Path) -> None:
    """Move the staged outputs into ``out_dir``, then remove the earlier run's outputs this run did not write."""
    new = {path.relative_to(staging) for path in staging.rglob("*") if path.is_file()}
    for rel in sorted(new):
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, out_dir / rel)
    for path in own_outputs(out_dir):
        if path.relative_to(out_dir) not in new:
            path.unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)


def run_video(
    spec: TrackerSpec,
    source,
    out_dir: Path,
    init_boxes: list[list[float]],
    init_mask: str | None = None,
    fps: float = 15.0,
    write_video: bool = True,
    debug: int = 0,
    visdom_info: dict | None = None,
) -> TrackingOutput:
    """Track ``source`` (a FrameSource) and write every output into ``out_dir``.

    Outputs are staged and committed at the end (also after Ctrl-C or an error, when at least one
    frame was tracked), replacing the outputs of an earlier run in ``out_dir``.
    With ``debug > 0`` the tracker's debug views go to visdom or to ``out_dir/debug/video/``.
    """
    from .api import VideoTracker

    info0, ids = initial_objects(init_boxes, init_mask)
    objects = objects_to_add(info0, ids)
    tracker = VideoTracker(spec.name, spec.param)
    predicts_mask = tracker.predicts_mask
    staging = _staging_folder(out_dir)
    views = open_debug_views(debug, out_dir / "debug", **(visdom_info or {}))
    if views is not None:
        tracker.tracker.debug_views = views
        views.start_sequence("video")
    sink = VideoSink(staging / "overlay.mp4", fps=fps) if write_video else None
    collected = TrackingOutput()

    try:
        frames = progress(source, source.num_frames, "frames", "frame", lines=False)
        for frame in tracked_frames(tracker, frames, objects, ids):
            if frame.mask is not None:
                imwrite_indexed(staging / "masks" / f"{Path(frame.name).stem}.png", frame.mask)
            if sink is not None:
                sink.write(draw_overlay(frame.image, frame.found, frame.label))
            collected.target_bbox.append(frame.boxes)
            collected.time.append(frame.time)
            if views is not None:
                views.end_frame(frame.image, {"target_bbox": frame.found, "segmentation": frame.label}, predicts_mask)
    except KeyboardInterrupt:
        print(f"interrupted after {len(collected.target_bbox)} frames; keeping what was tracked", file=sys.stderr)
    finally:
        try:
            if views is not None:
                views.close()
            if sink is not None:
                sink.close(keep=sink.frames > 0)
            if collected.target_bbox:
                write_outputs(staging, collected, ids)
                commit_outputs(staging, out_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return collected


def main(argv: list[str] | None = None) -> int:
    from .datasets.own_video import MAX_INIT_OBJECTS, open_frame_source

    parser = argparse.ArgumentParser(prog="python -m pytracking_ext.run_video", description=__doc__.split("\n")[0])
    parser.add_argument("tracker_name")
    parser.add_argument("tracker_param")
    parser.add_argument("--input", required=True, help="video file, image folder, or webcam index (0, 1, ...)")
    parser.add_argument(
        "--init-box",
        type=parse_box,
        action="append",
        default=[],
        metavar="x,y,w,h",
        help="initial box; repeat for several objects",
    )
    parser.add_argument(
        "--init-mask",
        default=None,
        help="initial mask: a binary image, a DAVIS palette PNG, a grayscale label image (ids 1..255), "
        "or an RGB image with one flat colour per object (black = background); at most "
        f"{MAX_INIT_OBJECTS} objects",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames (needed for webcams)")
    parser.add_argument("--fps", type=float, default=15.0, help="frame rate of the overlay video")
    parser.add_argument("--no-video", action="store_true", help="do not write overlay.mp4")
    parser.add_argument("--debug", type=int, default=0, help="debug level: views in visdom or PNG files")
    add_debug_arguments(parser)
    args = parser.parse_args(argv)
    source_arg: str | int = int(args.input) if args.input.isdigit() else args.input
    try:
        source = open_frame_source(source_arg, max_frames=args.max_frames)
        spec = TrackerSpec(args.tracker_name, args.tracker_param)
        output = run_video(
            spec,
            source,
            Path(args.out),
            args.init_box,
            args.init_mask,
            fps=args.fps,
            write_video=not args.no_video,
            debug=args.debug,
            visdom_info=visdom_info(args),
        )
    except PytrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"tracked {len(output.target_bbox)} frames; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
