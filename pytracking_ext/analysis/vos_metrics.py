"""Video object segmentation measures: J (region), F (boundary), recall, decay (D.6.6/D.6.7).

Per object, a frame is scored when its position among the annotated frames is strictly after
the object's first frame and strictly before the last annotated frame. Dataset scores are
means over objects. Ground-truth pixels labelled 255 are void and ignored by both measures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from collections.abc import Sequence as Seq
from dataclasses import dataclass, field

import numpy as np

VOID_LABEL = 255
BOUNDARY_FRACTION = 0.008
RECALL_THRESHOLD = 0.5
DECAY_BINS = 4


def region_similarity(pred: np.ndarray, gt: np.ndarray, void: np.ndarray | None = None) -> float:
    """Jaccard index of two binary masks; 1 when both are empty (after removing void pixels)."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if void is not None:
        keep = ~np.asarray(void, bool)
        pred, gt = pred & keep, gt & keep
    union = np.count_nonzero(pred | gt)
    if union == 0:
        return 1.0
    return np.count_nonzero(pred & gt) / union


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """One-pixel boundary of a binary mask (``seg2bmap`` rule).

    A pixel is on the boundary when it differs from its right, lower or lower-right neighbour;
    the last row only compares to the right, the last column only downwards, and the
    bottom-right pixel is never a boundary.
    """
    seg = np.asarray(mask, bool)
    right = np.zeros_like(seg)
    down = np.zeros_like(seg)
    diag = np.zeros_like(seg)
    right[:, :-1] = seg[:, 1:]
    down[:-1, :] = seg[1:, :]
    diag[:-1, :-1] = seg[1:, 1:]
    bmap = (seg ^ right) | (seg ^ down) | (seg ^ diag)
    bmap[-1, :] = seg[-1, :] ^ right[-1, :]
    bmap[:, -1] = seg[:, -1] ^ down[:, -1]
    bmap[-1, -1] = False
    return bmap


def disk(radius: int) -> np.ndarray:
    """``uint8`` disk footprint: offsets with ``dx^2 + dy^2 <= radius^2``."""
    r = int(radius)
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return ((xx * xx + yy * yy) <= r * r).astype(np.uint8)


def boundary_tolerance(shape: tuple[int, int], fraction: float = BOUNDARY_FRACTION) -> int:
    """``ceil(fraction * image diagonal)`` pixels (8 px for 480x854)."""
    return int(math.ceil(fraction * math.hypot(shape[0], shape[1])))


def _dilate(bmap: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.dilate(bmap.astype(np.uint8), footprint).astype(bool)


def boundary_measure(
    pred: np.ndarray, gt: np.ndarray, void: np.ndarray | None = None, fraction: float = BOUNDARY_FRACTION
) -> float:
    """Boundary F-measure with a tolerance of ``fraction`` of the image diagonal."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if void is not None:
        keep = ~np.asarray(void, bool)
        pred, gt = pred & keep, gt & keep
    pred_b, gt_b = boundary_map(pred), boundary_map(gt)
    footprint = disk(boundary_tolerance(pred.shape, fraction))
    n_pred, n_gt = int(pred_b.sum()), int(gt_b.sum())
    if n_pred == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    elif n_pred == 0:
        precision, recall = 1.0, 0.0
    elif n_gt == 0:
        precision, recall = 0.0, 1.0
    else:
        precision = np.count_nonzero(pred_b & _dilate(gt_b, footprint)) / n_pred
        recall = np.count_nonzero(gt_b & _dilate(pred_b, footprint)) / n_gt
    if precision + recall == 0:
        return 0.0
    return 2.0 * precision * recall / (precision + recall)


def decay_bins(n: int, bins: int = DECAY_BINS) -> list[slice]:
    """Overlapping index ranges of the ``bins`` parts of ``n`` values (ends from ``linspace(1, n, bins + 1)``)."""
    ends = [int(math.floor(v + 0.5)) - 1 for v in np.linspace(1, n, bins + 1)]
    return [slice(ends[i], ends[i + 1] + 1) for i in range(bins)]


@dataclass
class ObjectStats:
    """Mean, recall (> 0.5) and decay (first quarter minus last quarter) of one object's values."""

    mean: float
    recall: float
    decay: float


def object_statistics(values: Iterable[float]) -> ObjectStats:
    """Statistics over the scored (non-NaN) values of one object."""
    x = np.asarray(list(values), np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        nan = float("nan")
        return ObjectStats(nan, nan, nan)
    parts = [x[s] for s in decay_bins(len(x))]
    decay = float(np.mean(parts[0]) - np.mean(parts[-1]))
    return ObjectStats(float(x.mean()), float((x > RECALL_THRESHOLD).mean()), decay)


@dataclass
class ObjectScores:
    """Per-frame J and F of one object over the annotated frames (NaN where not scored)."""

    sequence: str
    object_id: str
    j: np.ndarray
    f: np.ndarray
    category: str | None = None
    j_stats: ObjectStats = field(init=False)
    f_stats: ObjectStats = field(init=False)

    def __post_init__(self) -> None:
        self.j_stats = object_statistics(self.j)
        self.f_stats = object_statistics(self.f)


def scored_positions(num_annotated: int, first_position: int) -> range:
    """Positions among the annotated frames that score an object starting at ``first_position``."""
    return range(first_position + 1, num_annotated - 1)


def evaluate_objects(
    sequence: str,
    gt_masks: Seq[np.ndarray],
    pred_masks: Seq[np.ndarray] | Callable[[int], np.ndarray],
    object_first: dict[str, int],
    with_f: bool = True,
) -> list[ObjectScores]:
    """J (and F) of every object of one sequence.

    ``gt_masks`` are the label maps of the annotated frames in order; ``pred_masks`` the label
    maps of the same frames (a list, or a callable position -> array, so masks load lazily);
    ``object_first`` maps each object id to the position of its first annotated frame.
    """
    n = len(gt_masks)
    scores = {oid: (np.full(n, np.nan), np.full(n, np.nan)) for oid in object_first}
    wanted = sorted({p for first in object_first.values() for p in scored_positions(n, first)})
    for pos in wanted:
        gt = np.asarray(gt_masks[pos])
        pred = np.asarray(pred_masks(pos) if callable(pred_masks) else pred_masks[pos])
        if pred.shape != gt.shape:
            raise ValueError(
                f"{sequence}: predicted mask of annotated frame {pos} has shape {pred.shape}, ground truth {gt.shape}"
            )
        void = gt == VOID_LABEL
        for oid, first in object_first.items():
            if pos <= first:
                continue
            label = int(oid)
            j_values, f_values = scores[oid]
            j_values[pos] = region_similarity(pred == label, gt == label, void)
            if with_f:
                f_values[pos] = boundary_measure(pred == label, gt == label, void)
    return [ObjectScores(sequence, oid, j, f) for oid, (j, f) in scores.items()]


@dataclass
class VosScores:
    """Dataset J/F statistics in percent (means over objects)."""

    j_mean: float
    j_recall: float
    j_decay: float
    f_mean: float
    f_recall: float
    f_decay: float
    num_objects: int

    @property
    def jf(self) -> float:
        return (self.j_mean + self.f_mean) / 2.0


def _mean(values: list[float]) -> float:
    values = [v for v in values if not np.isnan(v)]
    return float(np.mean(values)) * 100.0 if values else float("nan")


def dataset_scores(objects: Seq[ObjectScores]) -> VosScores:
    """Means over all objects of the per-object mean, recall and decay."""
    return VosScores(
        j_mean=_mean([o.j_stats.mean for o in objects]),
        j_recall=_mean([o.j_stats.recall for o in objects]),
        j_decay=_mean([o.j_stats.decay for o in objects]),
        f_mean=_mean([o.f_stats.mean for o in objects]),
        f_recall=_mean([o.f_stats.recall for o in objects]),
        f_decay=_mean([o.f_stats.decay for o in objects]),
        num_objects=len(objects),
    )


@dataclass
class SeenUnseenScores:
    """YouTube-VOS figures in percent: J/F for seen and unseen categories and their mean."""

    j_seen: float
    f_seen: float
    j_unseen: float
    f_unseen: float

    @property
    def overall(self) -> float:
        """``(J_s + F_s + J_u + F_u) / 4``, over the groups that have objects."""
        values = [v for v in (self.j_seen, self.f_seen, self.j_unseen, self.f_unseen) if not np.isnan(v)]
        return float(np.mean(values)) if values else float("nan")


def seen_unseen_scores(objects: Seq[ObjectScores], seen_categories: set[str]) -> SeenUnseenScores:
    """Split objects by whether their category occurs in the training split."""
    seen = [o for o in objects if o.category in seen_categories]
    unseen = [o for o in objects if o.category not in seen_categories]
    return SeenUnseenScores(
        j_seen=_mean([o.j_stats.mean for o in seen]),
        f_seen=_mean([o.f_stats.mean for o in seen]),
        j_unseen=_mean([o.j_stats.mean for o in unseen]),
        f_unseen=_mean([o.f_stats.mean for o in unseen]),
    )
