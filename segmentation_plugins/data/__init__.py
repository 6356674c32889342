"""Data layer shared by the video segmentation plugins (LMANet, EVS).

* :mod:`.labels`: class tables (Cityscapes labelId -> trainId, CamVid void -> 255), :class:`LabelSet` registry.
* :mod:`.cityscapes`: :class:`CityscapesClips`, clips of L frames ending at each snippet's 20th frame.
* :mod:`.camvid`: :class:`CamVidClips` (consecutive labelled frames) and :func:`camvid_sequences` (streaming).
* :mod:`.clips`: the clip sample format and :func:`to_tensors`.
* :mod:`.camera_motion`: :class:`CameraMotionClips`, pseudo-video clips of one frame under a moving camera.
* :mod:`.augment`: :class:`ClipAugment`, one random flip/shift/scale/crop for a whole clip.
* :mod:`.lazy`: imports the names listed below on first use.

Names are imported on first use, so that the label tables (used by the generator and the
metrics) do not pull in torch.
"""

from __future__ import annotations

from .lazy import lazy_exports

_EXPORTS = {
    "augment": ("AugmentParams", "ClipAugment"),
    "camera_motion": ("CameraMotion", "CameraMotionClips"),
    "camvid": ("CamVidClips", "CamVidFrame", "CamVidSequence", "camvid_sequences", "consecutive_runs", "read_split"),
    "cityscapes": ("CityscapesClips", "CityscapesSnippet", "find_snippets"),
    "clips": ("to_tensors",),
    "labels": (
        "CAMVID",
        "CITYSCAPES",
        "IGNORE_INDEX",
        "LABEL_SETS",
        "LabelSet",
        "camvid_to_train_ids",
        "cityscapes_to_train_ids",
        "cityscapes_train_to_label_ids",
        "get_label_set",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
