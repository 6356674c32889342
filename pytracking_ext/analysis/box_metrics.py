"""Per-sequence box metrics with PyTracking's definitions (docs/metrics.md D.6.1-D.6.3).

Pipeline for one sequence: :func:`prepare_predictions` (checks, zero-size replacement, length
rule, frame 0 := ground truth), :func:`sequence_errors` (IoU, centre and normalised centre
errors with the invalid-frame conventions) and :func:`sequence_curves` (success, precision and
normalised-precision curves under a protocol). Thresholds are built as ``i / n`` and scores are
picked by index, so no float equality is ever needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ResultsError
from ..registry import Registry
from .dataset_rules import DatasetRules, rules_for

OVERLAP_THRESHOLDS = np.arange(21, dtype=np.float64) / 20.0
PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64) / 100.0

# Indices of the reported scores in the curves above.
OP50_INDEX, OP75_INDEX = 10, 15
PRECISION_INDEX = 20  # 20 px
NORM_PRECISION_INDEX = 20  # 0.20


def _as_boxes(array, what: str) -> np.ndarray:
    boxes = np.asarray(array, dtype=np.float64)
    if boxes.ndim == 1 and boxes.size == 4:
        boxes = boxes.reshape(1, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ResultsError(f"{what}: expected an (N, 4) box array, got shape {boxes.shape}")
    return boxes


def prepare_predictions(
    pred: np.ndarray, anno: np.ndarray, dataset: str = "", source: str = "predictions"
) -> np.ndarray:
    """Apply D.6.1 steps 2-6 to a copy of ``pred`` and return it with ``len(anno)`` rows.

    ``source`` names the file or tracker in error messages.
    """
    rules = rules_for(dataset)
    pred = _as_boxes(pred, source).copy()
    anno = _as_boxes(anno, "annotation")
    if np.isnan(pred).any():
        raise ResultsError(f"{source}: invalid results (NaN in predictions)")
    if (pred[:, 2:] < 0).any():
        raise ResultsError(f"{source}: invalid results (negative width or height)")
    anno_nan_rows = np.isnan(anno).any(axis=1)
    if anno_nan_rows.any() and not rules.allow_nan_annotation:
        row = int(np.flatnonzero(anno_nan_rows)[0]) + 1
        raise ResultsError(f"annotation of {source}: NaN in row {row} (only allowed for dataset 'uav')")
    # Zero-size boxes inherit the previous row, in order, so runs of them propagate.
    for i in range(1, min(len(pred), len(anno))):
        if (pred[i, 2] == 0 or pred[i, 3] == 0) and not anno_nan_rows[i]:
            pred[i] = pred[i - 1]
    n = len(anno)
    if len(pred) > n:
        pred = pred[:n]
    elif len(pred) < n:
        if rules.short_prediction_is_error:
            raise ResultsError(f"{source}: {len(pred)} predicted rows for {n} annotated frames")
        pred = np.concatenate([pred, np.zeros((n - len(pred), 4))], axis=0)
    pred[0] = anno[0]
    return pred


def _overlap_1d(pa: np.ndarray, sa: np.ndarray, pb: np.ndarray, sb: np.ndarray) -> np.ndarray:
    """Overlap length of ``[pa, pa + sa)`` and ``[pb, pb + sb)``.

    Written relative to the later start so that identical intervals give exactly their size
    (``(x + w) - x`` need not equal ``w`` in floating point, which would push IoU past 1).
    """
    start = np.maximum(pa, pb)
    return np.maximum(0.0, np.minimum(sa - (start - pa), sb - (start - pb)))


def iou_inclusive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise IoU with inclusive pixel extents (``x2 = x + w - 1``) and areas ``w * h``.

    The inclusive intersection ``min(x2a, x2b) - max(xa, xb) + 1`` equals the overlap of
    ``[x, x + w)``; identical boxes give exactly 1.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    inter = _overlap_1d(a[:, 0], a[:, 2], b[:, 0], b[:, 2]) * _overlap_1d(a[:, 1], a[:, 3], b[:, 1], b[:, 3])
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def box_centers(boxes: np.ndarray) -> np.ndarray:
    """Centres ``(x + (w - 1) / 2, y + (h - 1) / 2)`` (pixel-inclusive convention)."""
    boxes = np.asarray(boxes, np.float64)
    return boxes[:, :2] + (boxes[:, 2:] - 1.0) / 2.0


@dataclass
class SequenceErrors:
    """Per-frame quantities of one sequence (invalid frames carry the sentinel values)."""

    iou: np.ndarray
    center_error: np.ndarray
    norm_center_error: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return len(self.iou)


def valid_frames(anno: np.ndarray, target_visible: np.ndarray | None, rules: DatasetRules) -> np.ndarray:
    """PyTracking's validity: all four annotation values > 0, and visible where flags exist."""
    with np.errstate(invalid="ignore"):
        valid = (np.asarray(anno, np.float64) > 0).all(axis=1)
    if target_visible is not None and rules.visibility_in_validity:
        valid &= _visibility(target_visible, len(anno))
    return valid


def _visibility(target_visible, n: int) -> np.ndarray:
    visible = np.asarray(target_visible).astype(bool).reshape(-1)
    if len(visible) != n:
        raise ResultsError(f"target_visible has {len(visible)} flags for {n} annotated frames")
    return visible


def sequence_errors(
    pred: np.ndarray,
    anno: np.ndarray,
    dataset: str = "",
    target_visible: np.ndarray | None = None,
    source: str = "predictions",
) -> SequenceErrors:
    """IoU, centre error and normalised centre error per frame (D.6.2), after :func:`prepare_predictions`."""
    rules = rules_for(dataset)
    anno = _as_boxes(anno, "annotation")
    pred = prepare_predictions(pred, anno, dataset, source)
    valid = valid_frames(anno, target_visible, rules)
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = iou_inclusive(pred, anno)
        pc, ac = box_centers(pred), box_centers(anno)
        center = np.sqrt(((pc - ac) ** 2).sum(axis=1))
        size = anno[:, 2:]
        norm = np.sqrt(((pc / size - ac / size) ** 2).sum(axis=1))
    iou[~valid] = -1.0
    center[~valid] = rules.invalid_center_error
    norm[~valid] = -1.0
    if target_visible is not None and rules.invisible_errors_are_inf:
        hidden = ~_visibility(target_visible, len(anno))
        center[hidden] = np.inf
        norm[hidden] = np.inf
    return SequenceErrors(iou, center, norm, valid)


@dataclass
class SequenceCurves:
    """Curves of one sequence as fractions in [0, 1], plus the mean IoU over valid frames."""

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    avg_overlap: float


# A protocol picks which frames enter numerator and denominator of every curve.
PROTOCOLS: Registry = Registry("analysis protocol")


@PROTOCOLS.register("pytracking")
def _all_frames(errors: SequenceErrors) -> np.ndarray:
    """PyTracking's default: every annotated frame counts; invalid ones keep their sentinels."""
    return np.ones(len(errors), dtype=bool)


@PROTOCOLS.register("strict")
def _valid_frames_only(errors: SequenceErrors) -> np.ndarray:
    """Invalid frames (no box, absent or invisible target) leave numerator and denominator."""
    return errors.valid.copy()


def sequence_curves(errors: SequenceErrors, protocol: str = "pytracking") -> SequenceCurves | None:
    """Success (IoU strictly above each threshold), precision and normalised precision curves.

    Returns ``None`` when the protocol leaves no frame to score (such sequences are skipped).
    """
    keep = PROTOCOLS.get(protocol)(errors)
    count = int(keep.sum())
    valid_iou = errors.iou[errors.valid]
    avg_overlap = float(valid_iou.mean()) if valid_iou.size else float("nan")
    if count == 0:
        return None
    iou = errors.iou[keep][:, None]
    center = errors.center_error[keep][:, None]
    norm = errors.norm_center_error[keep][:, None]
    success = (iou > OVERLAP_THRESHOLDS[None, :]).sum(axis=0) / count
    precision = (center <= PRECISION_THRESHOLDS[None, :]).sum(axis=0) / count
    norm_precision = (norm <= NORM_PRECISION_THRESHOLDS[None, :]).sum(axis=0) / count
    return SequenceCurves(success, precision, norm_precision, avg_overlap)


@dataclass
class BoxScores:
    """Dataset-level scores in percent."""

    auc: float
    op50: float
    op75: float
    precision: float
    norm_precision: float


def scores_from_curves(success: np.ndarray, precision: np.ndarray, norm_precision: np.ndarray) -> BoxScores:
    """AUC = mean of the 21 success values; OP50/OP75/precision/norm. precision picked by index."""
    return BoxScores(
        auc=float(np.mean(success)) * 100.0,
        op50=float(success[OP50_INDEX]) * 100.0,
        op75=float(success[OP75_INDEX]) * 100.0,
        precision=float(precision[PRECISION_INDEX]) * 100.0,
        norm_precision=float(norm_precision[NORM_PRECISION_INDEX]) * 100.0,
    )


def average_curves(curves: list[SequenceCurves]) -> SequenceCurves:
    """Frame-count-independent mean of several curves (runs of one sequence, or sequences)."""
    if not curves:
        raise ValueError("no curves to average")
    overlaps = [c.avg_overlap for c in curves if not np.isnan(c.avg_overlap)]
    return SequenceCurves(
        success=np.mean([c.success for c in curves], axis=0),
        precision=np.mean([c.precision for c in curves], axis=0),
        norm_precision=np.mean([c.norm_precision for c in curves], axis=0),
        avg_overlap=float(np.mean(overlaps)) if overlaps else float("nan"),
    )
