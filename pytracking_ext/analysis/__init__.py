"""Analysis of tracking results: PyTracking's box metrics, GOT-10k AO/SR, DAVIS/YouTube-VOS J and F.

Metric functions take arrays and :class:`~pytracking_ext.evaluation.data.Sequence` objects;
only :mod:`.report` and the command line (``python -m pytracking_ext.analysis``) load datasets.
"""

from .box_metrics import (
    NORM_PRECISION_THRESHOLDS,
    OVERLAP_THRESHOLDS,
    PRECISION_THRESHOLDS,
    BoxScores,
    iou_inclusive,
    prepare_predictions,
    scores_from_curves,
    sequence_curves,
    sequence_errors,
)
from .got10k_metrics import got_scores, iou_continuous, scored_ious
from .results_io import read_boxes, read_mask
from .vos_metrics import boundary_measure, dataset_scores, evaluate_objects, region_similarity

__all__ = [
    "NORM_PRECISION_THRESHOLDS",
    "OVERLAP_THRESHOLDS",
    "PRECISION_THRESHOLDS",
    "BoxScores",
    "iou_inclusive",
    "prepare_predictions",
    "scores_from_curves",
    "sequence_curves",
    "sequence_errors",
    "got_scores",
    "iou_continuous",
    "scored_ious",
    "read_boxes",
    "read_mask",
    "boundary_measure",
    "dataset_scores",
    "evaluate_objects",
    "region_similarity",
]
