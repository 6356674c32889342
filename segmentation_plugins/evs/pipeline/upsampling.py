"""Output upsampling of the EVS pipeline: labels at the propagation resolution -> labels at the frame's.

``bilinear`` (the default, docs/evs.md §2.5's evaluation rule) upsamples the probabilities and
takes the argmax; ``nearest`` upsamples the labels, cheaper on a CPU. Where the upsampled P
sums to less than 0.5 (pixels that came from outside frame t-1 on a warp-only frame, P = 0
there), ``bilinear`` takes the nearest-upsampled labels, so it shows no strip of class 0 either.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from pytracking_ext.registry import Registry


def nearest_labels(labels: np.ndarray, probabilities: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """``labels`` (h×w uint8) resized to ``size`` (H, W) with nearest-neighbour sampling."""
    return cv2.resize(labels, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)


def bilinear_labels(labels: np.ndarray, probabilities: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """Argmax of ``probabilities`` (C×h×w) resized bilinearly to ``size``; nearest labels where P is empty."""
    p = F.interpolate(probabilities[None], size=size, mode="bilinear", align_corners=False)[0]
    out = p.argmax(0).to(torch.uint8).numpy()
    empty = (p.sum(0) < 0.5).numpy()  # no class there (outside frame t-1 on warp-only frames)
    if empty.any():
        out[empty] = nearest_labels(labels, probabilities, size)[empty]
    return out


# name -> (labels h×w uint8, probabilities C×h×w, frame size (H, W)) -> H×W uint8 labels
OUTPUT_UPSAMPLING = Registry("output upsampling")
OUTPUT_UPSAMPLING.add_all({"nearest": nearest_labels, "bilinear": bilinear_labels})
