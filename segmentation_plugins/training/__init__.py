"""What the segmentation plugins' training recipes share (clip data, class weights)."""

from .clip_data import DATASETS, ClipTensors, class_weights, clip_datasets

__all__ = ["DATASETS", "ClipTensors", "class_weights", "clip_datasets"]
