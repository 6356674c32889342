"""DiMP's hinge loss on target-classification scores (docs/rts.md B.7)."""

from __future__ import annotations

import torch


def lbhinge(scores: torch.Tensor, label: torch.Tensor, threshold: float = 0.05) -> torch.Tensor:
    """Mean squared error where the label marks the target, squared positive part elsewhere.

    Background cells (``label < threshold``) are only penalised for positive scores, target cells
    regress to the label; the mean runs over every element.
    """
    negative = label < threshold
    scores = torch.where(negative, torch.relu(scores), scores)
    target = torch.where(negative, torch.zeros_like(label), label)
    return torch.mean((scores - target) ** 2)
