"""Segmentation metrics: accumulated confusion matrix, per-class IoU, mIoU, pixel accuracy, and the
temporal consistency of predictions across consecutive frames.

Conventions (they reproduce cityscapesscripts' ``evalPixelLevelSemanticLabeling``):

* Ground-truth pixels equal to ``ignore_index`` are not counted at all.
* A prediction outside ``0 .. num_classes - 1`` (e.g. 255, or LMANet's extra channel 19) is a
  miss: it adds a false negative to the true class and a false positive to no class.
* ``IoU_c = TP / (TP + FP + FN)``. A class absent from both ground truth and predictions has
  ``0 / 0`` and gets NaN; :meth:`ConfusionMatrix.miou` averages the non-NaN classes only (a class
  predicted but absent from the ground truth has IoU 0 and does count).
* Pixel accuracy = correct pixels / non-ignored ground-truth pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segmentation_plugins.data.labels import IGNORE_INDEX


def _as_numpy(array: Any) -> np.ndarray:
    if hasattr(array, "detach"):  # torch tensor on any device
        array = array.detach().cpu().numpy()
    return np.asarray(array)


class ConfusionMatrix:
    """Counts of (ground truth, prediction) pixel pairs accumulated over many images.

    ``matrix[g, p]`` counts pixels of true class ``g`` predicted as ``p``; ``missed[g]`` counts
    pixels of true class ``g`` whose prediction is not a valid class id.
    """

    def __init__(self, num_classes: int, ignore_index: int = IGNORE_INDEX) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if 0 <= ignore_index < num_classes:
            raise ValueError(f"ignore_index {ignore_index} is a class id (num_classes {num_classes})")
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        # One extra column collects invalid predictions, so every counted pixel lands somewhere.
        self._counts = np.zeros((self.num_classes, self.num_classes + 1), dtype=np.int64)

    def reset(self) -> None:
        self._counts[:] = 0

    def update(self, pred: Any, gt: Any) -> None:
        """Add a prediction and its ground truth (same shape; numpy arrays or torch tensors of ids)."""
        pred, gt = _as_numpy(pred), _as_numpy(gt)
        if pred.shape != gt.shape:
            raise ValueError(f"prediction shape {pred.shape} differs from ground-truth shape {gt.shape}")
        gt = gt.astype(np.int64, copy=False).ravel()
        pred = pred.astype(np.int64, copy=False).ravel()
        keep = gt != self.ignore_index
        gt, pred = gt[keep], pred[keep]
        if gt.size and (gt.min() < 0 or gt.max() >= self.num_classes):
            bad = gt[(gt < 0) | (gt >= self.num_classes)][0]
            raise ValueError(
                f"ground-truth value {bad} is neither a class id (0..{self.num_classes - 1}) "
                f"nor ignore_index {self.ignore_index}"
            )
        pred = np.where((pred >= 0) & (pred < self.num_classes), pred, self.num_classes)
        width = self.num_classes + 1
        counts = np.bincount(gt * width + pred, minlength=self.num_classes * width)
        self._counts += counts.reshape(self.num_classes, width)

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """Add the counts of ``other`` (e.g. from another worker) to this matrix; returns self."""
        if (other.num_classes, other.ignore_index) != (self.num_classes, self.ignore_index):
            raise ValueError("cannot merge confusion matrices of different classes or ignore index")
        self._counts += other._counts
        return self

    @property
    def matrix(self) -> np.ndarray:
        """``(C, C) int64``: rows ground truth, columns prediction (invalid predictions not included)."""
        return self._counts[:, : self.num_classes].copy()

    @property
    def missed(self) -> np.ndarray:
        """``(C,) int64``: pixels of each true class with an invalid prediction."""
        return self._counts[:, self.num_classes].copy()

    @property
    def total(self) -> int:
        """Number of counted (non-ignored) pixels."""
        return int(self._counts.sum())

    def iou(self) -> np.ndarray:
        """Per-class IoU ``(C,) float64``; NaN for classes absent from ground truth and predictions."""
        tp = np.diag(self._counts).astype(np.float64)
        gt_total = self._counts.sum(axis=1)  # TP + FN, invalid predictions included
        pred_total = self._counts[:, : self.num_classes].sum(axis=0)  # TP + FP
        denominator = (gt_total + pred_total).astype(np.float64) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > 0, tp / denominator, np.nan)

    def miou(self) -> float:
        """Mean IoU over the classes whose IoU is defined (NaN when none is)."""
        iou = self.iou()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")

    def pixel_accuracy(self) -> float:
        """Correct / counted pixels (NaN when nothing was counted)."""
        total = self.total
        return float(np.trace(self._counts)) / total if total else float("nan")

    def class_accuracy(self) -> np.ndarray:
        """Per-class recall ``TP / (TP + FN)`` (NaN for classes absent from the ground truth)."""
        gt_total = self._counts.sum(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(gt_total > 0, np.diag(self._counts) / gt_total, np.nan)

    def summary(self, names: tuple[str, ...] | None = None) -> dict[str, Any]:
        """``{"miou", "pixel_accuracy", "iou": {name: value}}`` for reports (names default to ids)."""
        names = names if names is not None else tuple(str(i) for i in range(self.num_classes))
        if len(names) != self.num_classes:
            raise ValueError(f"{len(names)} names for {self.num_classes} classes")
        return {
            "miou": self.miou(),
            "pixel_accuracy": self.pixel_accuracy(),
            "iou": {name: float(v) for name, v in zip(names, self.iou())},
        }


class TemporalConsistency:
    """Share of prediction flips between consecutive frames where the ground truth does not flip.

    For frames ``t-1`` and ``t`` of one video, a pixel location ``x`` is *stable* when both ground
    truths are valid (not ``ignore_index``) and equal: ``G_{t-1}(x) == G_t(x) != ignore``. It
    *flips* when additionally ``P_{t-1}(x) != P_t(x)``. The flip rate is the number of flips over
    the number of stable pixels, summed over all consecutive pairs of all videos (lower is
    better); :meth:`consistency` is ``1 - flip_rate``. Locations are compared in image
    coordinates, without motion compensation: pixels where moving content changes the true
    class are excluded by the ground-truth condition, so only flips that no true change explains
    are counted.

    Feed frames in order with :meth:`update`; call :meth:`end_sequence` between videos (or
    wherever frames stop being consecutive) so that no pair spans the break.
    """

    def __init__(self, ignore_index: int = IGNORE_INDEX) -> None:
        self.ignore_index = int(ignore_index)
        self.flips = 0
        self.stable = 0
        self._previous: tuple[np.ndarray, np.ndarray] | None = None

    def update(self, pred: Any, gt: Any) -> None:
        """Add the next frame of the current video."""
        pred, gt = _as_numpy(pred), _as_numpy(gt)
        if pred.shape != gt.shape:
            raise ValueError(f"prediction shape {pred.shape} differs from ground-truth shape {gt.shape}")
        if self._previous is not None:
            prev_pred, prev_gt = self._previous
            if prev_gt.shape != gt.shape:
                raise ValueError(f"frame shape {gt.shape} differs from the previous frame's {prev_gt.shape}")
            stable = (gt == prev_gt) & (gt != self.ignore_index)
            self.stable += int(stable.sum())
            self.flips += int((stable & (pred != prev_pred)).sum())
        self._previous = (pred.copy(), gt.copy())

    def end_sequence(self) -> None:
        """Forget the previous frame: the next :meth:`update` starts a new video."""
        self._previous = None

    def reset(self) -> None:
        self.flips = self.stable = 0
        self._previous = None

    def flip_rate(self) -> float:
        """Flips / stable pixels (NaN when no stable pixel was seen)."""
        return self.flips / self.stable if self.stable else float("nan")

    def consistency(self) -> float:
        return 1.0 - self.flip_rate()


def confusion_matrix(preds: Any, gts: Any, num_classes: int, ignore_index: int = IGNORE_INDEX) -> ConfusionMatrix:
    """A :class:`ConfusionMatrix` of one prediction/ground-truth pair (or stacked batch)."""
    matrix = ConfusionMatrix(num_classes, ignore_index)
    matrix.update(preds, gts)
    return matrix


def temporal_flip_rate(preds: Any, gts: Any, ignore_index: int = IGNORE_INDEX) -> float:
    """Flip rate of one video given as ``(T, H, W)`` predictions and ground truths.

    See :class:`TemporalConsistency` for the definition.
    """
    preds, gts = _as_numpy(preds), _as_numpy(gts)
    if preds.ndim < 3 or preds.shape != gts.shape:
        raise ValueError(
            f"expected (T, H, W) predictions and ground truths of one shape, got {preds.shape} and {gts.shape}"
        )
    meter = TemporalConsistency(ignore_index)
    for pred, gt in zip(preds, gts):
        meter.update(pred, gt)
    return meter.flip_rate()


__all__ = ["ConfusionMatrix", "TemporalConsistency", "confusion_matrix", "temporal_flip_rate"]
