"""Soft-aggregation merge of per-object segmentation scores (RGMP-style; docs/rts.md D.2.4, C.11)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ..multiobject import boxes_from_labels

# Objects initialised on this frame contribute their mask as +-100 "logits".
INIT_LOGIT_SCALE = 200.0


def object_logits(out: dict[str, Any]) -> np.ndarray:
    """Raw logit map of one object's output (``segmentation_raw``, or the init mask as +-100)."""
    if out.get("segmentation_raw") is not None:
        return np.asarray(out["segmentation_raw"], dtype=np.float32)
    return (np.asarray(out["segmentation"], dtype=np.float32) - 0.5) * INIT_LOGIT_SCALE


def soft_aggregate(logits: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """``(K, H, W)`` object logits -> ``(K + 1, H, W)`` probabilities, background first."""
    probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    background = np.clip(np.prod(1.0 - probs, axis=0), eps, 1.0 - eps)
    all_logits = np.concatenate([np.log(background / (1.0 - background))[None], logits.astype(np.float64)])
    # q_k = 1 / sum_j exp(l_j - l_k): a softmax, computed stably by subtracting the maximum.
    shifted = np.exp(all_logits - all_logits.max(axis=0, keepdims=True))
    return (shifted / shifted.sum(axis=0, keepdims=True)).astype(np.float32)


def merge_segmentations(outputs: OrderedDict[str, dict[str, Any]]) -> dict[str, Any]:
    """Merged output: label image, per-object aggregated probabilities and boxes from the labels."""
    ids = list(outputs)
    probs = soft_aggregate(np.stack([object_logits(outputs[oid]) for oid in ids]))
    lookup = np.array([0] + [int(oid) for oid in ids], dtype=np.uint8)
    label = lookup[probs.argmax(axis=0)]
    merged: dict[str, Any] = {
        "segmentation": label,
        "segmentation_raw": OrderedDict((oid, probs[i + 1]) for i, oid in enumerate(ids)),
        "target_bbox": boxes_from_labels(label, ids),
    }
    for key in {k for out in outputs.values() for k in out}:
        if "segmentation" in key or "clf_search_area" in key or key == "target_bbox":
            continue
        merged[key] = OrderedDict((oid, out[key]) for oid, out in outputs.items() if key in out)
    return merged
