"""GOT-10k's official AO / SR (docs/metrics.md D.6.8), next to PyTracking's AUC.

Rule: frame 0 is not scored, frames whose target is absent are not scored, IoU is the
continuous box overlap (boxes optionally clipped to the image first, as the toolkit does), and
the dataset figures pool every scored frame of every sequence and repetition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import ResultsError

# The toolkit's success curve has 101 thresholds 0, 0.01, ..., 1.
GOT_THRESHOLDS = np.arange(101, dtype=np.float64) / 100.0


def clip_to_image(boxes: np.ndarray, image_wh: tuple[float, float]) -> np.ndarray:
    """Clip ``[x, y, w, h]`` rows into ``[0, W] x [0, H]`` (the toolkit's ``bound``)."""
    width, height = image_wh
    out = np.asarray(boxes, np.float64).copy()
    out[:, 0] = np.clip(out[:, 0], 0, width)
    out[:, 1] = np.clip(out[:, 1], 0, height)
    out[:, 2] = np.clip(out[:, 2], 0, width - out[:, 0])
    out[:, 3] = np.clip(out[:, 3], 0, height - out[:, 1])
    return out


def iou_continuous(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise IoU of boxes as real rectangles ``[x, x + w) x [y, y + h)``; 0 for empty unions."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    iw = np.maximum(0.0, np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0]))
    ih = np.maximum(0.0, np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1]))
    inter = iw * ih
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return np.clip(iou, 0.0, 1.0)


def scored_ious(
    pred: np.ndarray,
    anno: np.ndarray,
    visible: np.ndarray | None = None,
    image_wh: tuple[float, float] | None = None,
    source: str = "predictions",
) -> np.ndarray:
    """IoUs of the frames GOT-10k scores: frames 1.. where the target is present."""
    pred, anno = np.asarray(pred, np.float64), np.asarray(anno, np.float64)
    if pred.shape != anno.shape:
        raise ResultsError(
            f"{source}: {len(pred)} predicted rows for {len(anno)} annotated frames "
            "(GOT-10k requires one row per frame)"
        )
    if np.isnan(pred).any():
        raise ResultsError(f"{source}: invalid results (NaN in predictions)")
    pred, anno = pred[1:], anno[1:]
    if image_wh is not None:
        pred, anno = clip_to_image(pred, image_wh), clip_to_image(anno, image_wh)
    iou = iou_continuous(pred, anno)
    if visible is not None:
        visible = np.asarray(visible).astype(bool).reshape(-1)
        if len(visible) != len(anno) + 1:
            raise ResultsError(f"{source}: {len(visible)} visibility flags for {len(anno) + 1} frames")
        iou = iou[visible[1:]]
    return iou


@dataclass
class GotScores:
    """AO, SR0.50 and SR0.75 in percent, and the 101-point success curve (fractions)."""

    ao: float
    sr50: float
    sr75: float
    success: np.ndarray


def got_scores(ious: Iterable[np.ndarray]) -> GotScores:
    """Pool the scored IoUs of all sequences and runs (each frame has equal weight)."""
    pooled = np.concatenate([np.asarray(i, np.float64).reshape(-1) for i in ious] or [np.zeros(0)])
    if pooled.size == 0:
        nan = float("nan")
        return GotScores(nan, nan, nan, np.full(len(GOT_THRESHOLDS), np.nan))
    success = (pooled[:, None] > GOT_THRESHOLDS[None, :]).mean(axis=0)
    return GotScores(
        ao=float(pooled.mean()) * 100.0,
        sr50=float((pooled > 0.5).mean()) * 100.0,
        sr75=float((pooled > 0.75).mean()) * 100.0,
        success=success,
    )
