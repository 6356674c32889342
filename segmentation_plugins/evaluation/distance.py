"""Scores by key-frame distance: mIoU of the frames that lie d frames after their key frame.

EVS (thesis ch. 3) propagates a key frame's prediction, so its accuracy falls with the distance
to the last key frame; the thesis scores distance S - 1 (docs/evs.md §2.5). A segmenter that
reports ``info['keyframe']`` per output gets its labelled frames grouped by that distance; one
that does not (LMANet, single-frame baselines) gets no grouping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .metrics import ConfusionMatrix


def keyframe_distances(infos: Iterable[Mapping[str, Any]]) -> list[int | None]:
    """Frames since the last output with ``keyframe`` true, per output of one video (or clip);
    None before the first key frame and for outputs that do not say whether they are one."""
    distances: list[int | None] = []
    last = None
    for index, info in enumerate(infos):
        if "keyframe" not in info:
            distances.append(None)
            continue
        if info["keyframe"]:
            last = index
        distances.append(None if last is None else index - last)
    return distances


class DistanceScores:
    """One confusion matrix per key-frame distance."""

    def __init__(self, num_classes: int, ignore_index: int) -> None:
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.matrices: dict[int, ConfusionMatrix] = {}
        self.frames: dict[int, int] = {}

    def update(self, distance: int | None, pred: np.ndarray, gt: np.ndarray) -> None:
        """Add one scored frame at ``distance`` (ignored when None)."""
        if distance is None:
            return
        if distance not in self.matrices:
            self.matrices[distance] = ConfusionMatrix(self.num_classes, self.ignore_index)
            self.frames[distance] = 0
        self.matrices[distance].update(pred, gt)
        self.frames[distance] += 1

    def as_dict(self) -> dict[str, Any]:
        """``miou_by_distance`` (percent, None where undefined) and ``scored_by_distance``, keyed
        by the distance as a string (JSON object keys), in increasing distance."""
        order = sorted(self.matrices)
        miou = {str(d): self.matrices[d].miou() for d in order}
        return {
            "miou_by_distance": {d: None if np.isnan(v) else 100 * float(v) for d, v in miou.items()},
            "scored_by_distance": {str(d): self.frames[d] for d in order},
        }
