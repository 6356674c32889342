"""Data layer shared by the video segmentation plugins (LMANet, EVS).

* :mod:`.labels`: class tables (Cityscapes labelId -> trainId, CamVid void -> 255), :class:`LabelSet` registry.
* :mod:`.cityscapes`: :class:`CityscapesClips`, clips of L frames ending at each snippet's 20th frame.
* :mod:`.camvid`: :class:`CamVidClips` (consecutive labelled frames) and :func:`camvid_sequences` (streaming).
* :mod:`.clips`: the clip sample format and :func:`to_tensors`.
* :mod:`.augment`: :class:`ClipAugment`, one random flip/shift/scale/crop for a whole clip.

Names are imported on first use, so that the label tables (used by the generator and the
metrics) do not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "augment": ("AugmentParams", "ClipAugment"),
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
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
