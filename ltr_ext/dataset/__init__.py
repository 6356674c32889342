"""Training datasets with LTR's video-dataset interface, reading the official layouts.

The readers reuse the evaluation loaders of :mod:`pytracking_ext.datasets` (one parser per
official layout) and present their sequences the way samplers need them: per-frame boxes,
validity/visibility flags and masks, one entry per object for multi-object videos.
"""

from .image_instances import InstanceImageDataset, coco, lvis
from .video_dataset import (
    BaseVideoDataset,
    SequenceVideoDataset,
    davis,
    got10k,
    lasot,
    subset,
    trackingnet,
    with_pregenerated_masks,
    youtubevos,
)

__all__ = [
    "InstanceImageDataset",
    "coco",
    "lvis",
    "BaseVideoDataset",
    "SequenceVideoDataset",
    "davis",
    "got10k",
    "lasot",
    "subset",
    "trackingnet",
    "with_pregenerated_masks",
    "youtubevos",
]
