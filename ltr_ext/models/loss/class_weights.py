"""Per-class loss weights from label frequencies (ENet's ``1 / ln(c + f)``, thesis 4.3.5)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch


def class_frequencies(labels: Iterable[np.ndarray], num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """Fraction of the labelled (non-ignored) pixels that belong to each class."""
    counts = np.zeros(num_classes, np.float64)
    for label in labels:
        values = np.asarray(label).ravel()
        values = values[(values != ignore_index) & (values < num_classes)]
        counts += np.bincount(values.astype(np.int64), minlength=num_classes)[:num_classes]
    total = counts.sum()
    if total == 0:
        raise ValueError("class_frequencies: no labelled pixel in any label map")
    return counts / total


def log_inverse_weights(frequencies: Iterable[float], c: float = 1.10) -> torch.Tensor:
    """``w_k = 1 / ln(c + f_k)``: rare classes weigh up to ``1 / ln(c)`` (10.5 for c = 1.10)."""
    f = torch.as_tensor(list(frequencies), dtype=torch.float64)
    if c <= 1.0:
        raise ValueError(f"log_inverse_weights needs c > 1 (weights must stay finite), got {c}")
    return (1.0 / torch.log(c + f)).float()
