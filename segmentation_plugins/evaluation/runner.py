"""Run a segmenter over a benchmark split and score it (mIoU, per-class IoU, temporal consistency, speed).

Three protocols (protocols.py):

``stream``
    Each run of consecutive labelled frames is one video: the segmenter is reset at its start
    and sees every frame in order (its memory rolls); every labelled frame is scored. CamVid val
    (0016E5 at 15 Hz) is one such run. For Cityscapes, whose snippets have one label each, a
    stream is the snippet's frames up to the annotated one (the 20th).
``clip``
    The official LMANet evaluation: every labelled frame is the last frame of an independent clip
    of ``clip_length`` frames, the state is reset before each clip and only that frame is scored.
``thesis``
    The EVS thesis protocol (docs/evs.md §2.5): clips as in ``clip`` whose length the caller sets
    to the key-frame interval S (``protocols.protocol_clip_length``), so the scored frame lies
    S - 1 frames after the clip's key frame.

Segmenters that flag key frames (``info['keyframe']``) also get their scores by key-frame distance
(``miou_by_distance``, distance.py): in ``stream`` every labelled frame at its distance, in
``thesis`` the scored frames' (S - 1 unless an adaptive key frame intervened).

Frames are read before the segmenter runs, so the timings are the segmenter's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytracking_ext.registry import Registry
from pytracking_ext.utils.progress import progress as progress_items

from ..data.labels import LabelSet
from ..segmenter import VideoSegmenter
from .distance import DistanceScores, keyframe_distances
from .metrics import ConfusionMatrix, TemporalConsistency
from .protocols import get_protocol

#: (frames, labels): a video to stream, with a label (or None) per frame
Video = tuple[list[np.ndarray], list[np.ndarray | None]]


@dataclass
class EvaluationReport:
    """Scores of one run; ``as_dict()`` is what ``run_segmentation`` writes to ``results.json``."""

    label_set: LabelSet
    confusion: ConfusionMatrix
    consistency: TemporalConsistency
    frames: int = 0
    scored: int = 0
    seconds: float = 0.0
    keyframes: int = 0
    by_distance: DistanceScores | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.by_distance is None:
            self.by_distance = DistanceScores(self.label_set.num_classes, self.label_set.ignore_index)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """Percentages, with None where a value is undefined (JSON has no NaN)."""
        iou = self.confusion.iou()
        return {
            "miou": _percent(self.confusion.miou()),
            "pixel_accuracy": _percent(self.confusion.pixel_accuracy()),
            "class_iou": {name: _percent(v) for name, v in zip(self.label_set.names, iou)},
            "temporal_flip_rate": _percent(self.consistency.flip_rate()),
            "frames": self.frames,
            "scored_frames": self.scored,
            "seconds": self.seconds,
            "fps": None if np.isnan(self.fps) else self.fps,
            "keyframes": self.keyframes,
            **self.by_distance.as_dict(),
            **self.extra,
        }


def _percent(value: float) -> float | None:
    return None if value is None or np.isnan(value) else 100 * float(value)


def _score_video(
    segmenter: VideoSegmenter,
    video: Video,
    report: EvaluationReport,
    clip: bool,
    on_output: Callable[[int, np.ndarray], None] | None = None,
    last_only: bool = False,
) -> None:
    """Segment one video and add its labelled frames to ``report``; ``clip``: through
    ``segment_clip`` (last output only); ``last_only``: stream it, score only its last frame."""
    frames, labels = video
    start = time.perf_counter()
    if clip:
        outputs = [segmenter.segment_clip(frames)]
        labels = labels[-1:]
    else:
        segmenter.reset()
        outputs = list(segmenter.segment_video(frames))
    report.seconds += time.perf_counter() - start
    distances = [None] if clip else keyframe_distances(o.info for o in outputs)
    if last_only:
        # every output counts for speed and key frames, only the clip's last is scored (its distance too)
        labels = [None] * (len(outputs) - 1) + labels[-1:]
    report.frames += len(frames)
    if len(outputs) != len(labels):
        raise RuntimeError(f"segmenter returned {len(outputs)} outputs for {len(labels)} frames")
    for index, (output, label) in enumerate(zip(outputs, labels)):
        report.keyframes += bool(output.info.get("keyframe", False))
        if on_output is not None:
            on_output(index, output.labels)
        if label is None:
            continue
        if output.labels.shape != label.shape:
            raise RuntimeError(f"prediction {output.labels.shape} and label {label.shape} differ in size")
        report.confusion.update(output.labels, label)
        report.by_distance.update(distances[index], output.labels, label)
        report.consistency.update(output.labels, label)
        report.scored += 1
    report.consistency.end_sequence()


def _camvid_videos(root: str, split: str, mode: str, clip_length: int, size) -> Iterator[Video]:
    from ..data import CamVidClips, camvid_sequences

    if mode == "clip":
        for sample in CamVidClips(root, split, clip_length=clip_length, size=size):
            yield list(sample["frames"]), [None] * (clip_length - 1) + [sample["label"]]
        return
    for sequence in camvid_sequences(root, split, size=size):
        run: Video = ([], [])
        for item in sequence:
            if item["new_run"] and run[0]:
                yield run
                run = ([], [])
            run[0].append(item["image"])
            run[1].append(item["label"])
        if run[0]:
            yield run


def _cityscapes_videos(root: str, split: str, mode: str, clip_length: int, size) -> Iterator[Video]:
    from ..data import CityscapesClips

    length = clip_length if mode == "clip" else 20
    for sample in CityscapesClips(root, split, clip_length=length, size=size):
        yield list(sample["frames"]), [None] * (len(sample["frames"]) - 1) + [sample["label"]]


VIDEO_SOURCES = Registry("evaluation dataset")
VIDEO_SOURCES.add_all({"camvid": _camvid_videos, "cityscapes": _cityscapes_videos})


def count_videos(dataset: str, root: str, split: str, mode: str, clip_length: int, size) -> int | None:
    """How many videos :func:`evaluate` will run (for the progress bar); None when unknown cheaply."""
    from ..data import CamVidClips, CityscapesClips, camvid_sequences

    if dataset == "camvid" and mode == "clip":
        return len(CamVidClips(root, split, clip_length=clip_length))
    if dataset == "cityscapes":
        return len(CityscapesClips(root, split, clip_length=clip_length if mode == "clip" else 20))
    return sum(1 for _ in camvid_sequences(root, split)) if dataset == "camvid" else None


def evaluate(
    segmenter: VideoSegmenter,
    label_set: LabelSet,
    dataset: str,
    root: str,
    split: str = "val",
    mode: str = "stream",
    clip_length: int = 4,
    size: tuple[int, int] | None = None,
    max_videos: int | None = None,
    progress: bool = True,
    on_output: Callable[[int, int, np.ndarray], None] | None = None,
) -> EvaluationReport:
    """Score ``segmenter`` on ``dataset`` (``camvid`` or ``cityscapes``) with protocol ``mode``
    (protocols.py; for ``thesis`` pass the key-frame interval S as ``clip_length``)."""
    protocol = get_protocol(mode)
    source = VIDEO_SOURCES.get(dataset)
    report = EvaluationReport(
        label_set,
        ConfusionMatrix(label_set.num_classes, label_set.ignore_index),
        TemporalConsistency(label_set.ignore_index),
    )
    cut = "clip" if protocol.clips else "stream"  # how the sources cut the split into videos
    total = count_videos(dataset, root, split, cut, clip_length, size)
    if max_videos is not None and total is not None:
        total = min(total, max_videos)
    videos = source(root, split, cut, clip_length, size)
    for number, video in enumerate(
        progress_items(videos, total, f"{dataset} {split} ({mode})", "video", enabled=progress)
    ):
        if max_videos is not None and number >= max_videos:
            break
        callback = (lambda index, labels, n=number: on_output(n, index, labels)) if on_output else None
        _score_video(
            segmenter,
            video,
            report,
            clip=protocol.clips and not protocol.keeps_every_output,
            on_output=callback,
            last_only=protocol.clips and protocol.keeps_every_output,
        )
    return report
