"""Metrics of the video segmentation plugins (mIoU as cityscapesscripts computes it, temporal consistency)."""

from .metrics import ConfusionMatrix, TemporalConsistency, confusion_matrix, temporal_flip_rate

__all__ = ["ConfusionMatrix", "TemporalConsistency", "confusion_matrix", "temporal_flip_rate"]
