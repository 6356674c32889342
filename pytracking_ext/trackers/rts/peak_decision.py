"""Which peak of the instance score map is the target, with DiMP's distractor tests (docs/rts.md C.6).

The highest peak decides whether the target was found at all. When it was, the map is searched
again with the target's neighbourhood blanked out: a second peak almost as high as the first is a
distractor. If exactly one of the two peaks lies near where the target was, that one is taken
and the frame is a *hard negative* (the memory learns it faster so the distractor fades); if
neither or both do, the frame is *uncertain* (not learnt from). A second peak that is only
moderately high is a hard negative too. With the release's thresholds (10000 x the first peak)
none of this fires and the decision is the plain argmax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class PeakThresholds:
    """The tests' thresholds, as fractions of the first peak except ``not_found`` (a score)."""

    not_found: float
    distractor: float = 10000.0
    hard_negative: float = 10000.0
    neighbourhood_scale: float = 2.2  # blanked area around the first peak, in target sizes
    displacement_scale: float = 0.8  # "near the previous position": within this share of the map's half-size

    @classmethod
    def from_params(cls, params: Any) -> PeakThresholds:
        return cls(
            not_found=params.clf_target_not_found_threshold,
            distractor=params.get("clf_distractor_threshold", 10000.0),
            hard_negative=params.get("clf_hard_negative_threshold", 10000.0),
            neighbourhood_scale=params.get("clf_target_neighborhood_scale", 2.2),
            displacement_scale=params.get("clf_displacement_scale", 0.8),
        )


@dataclass(frozen=True)
class PeakDecision:
    cell: torch.Tensor  # (y, x) score-map cell of the chosen peak
    max_score: float  # the map's highest score (whichever peak is chosen)
    flag: str


def _argmax(scores: torch.Tensor) -> tuple[torch.Tensor, float]:
    index = int(torch.argmax(scores))
    cell = torch.tensor([index // scores.shape[1], index % scores.shape[1]], dtype=torch.float32)
    return cell, float(scores.flatten()[index])


def decide_peak(
    scores: torch.Tensor, target_cells: torch.Tensor, previous_cell: torch.Tensor, thresholds: PeakThresholds
) -> PeakDecision:
    """The target's peak on a ``(H, W)`` score map.

    ``target_cells`` is the target's size (h, w) in map cells and ``previous_cell`` where the target
    was before this frame, in the map's cells.
    """
    cell1, score1 = _argmax(scores)
    if score1 < thresholds.not_found:
        return PeakDecision(cell1, score1, "not_found")
    if thresholds.distractor >= 1.0 and thresholds.hard_negative >= 1.0:
        return PeakDecision(cell1, score1, "normal")  # no second peak can pass either test
    half = thresholds.neighbourhood_scale * target_cells / 2
    lo = torch.clamp(torch.round(cell1 - half), min=0).long()
    hi = torch.round(cell1 + half + 1).long()
    masked = scores.clone()
    masked[lo[0] : min(int(hi[0]), scores.shape[0]), lo[1] : min(int(hi[1]), scores.shape[1])] = float("-inf")
    if not torch.isfinite(masked).any():
        return PeakDecision(cell1, score1, "normal")
    cell2, score2 = _argmax(masked)
    if score2 > thresholds.distractor * score1:
        radius = thresholds.displacement_scale * math.sqrt(scores.shape[0] * scores.shape[1]) / 2
        near1 = float(torch.linalg.norm(cell1 - previous_cell)) < radius
        near2 = float(torch.linalg.norm(cell2 - previous_cell)) < radius
        if near2 and not near1:
            return PeakDecision(cell2, score1, "hard_negative")
        if near1 and not near2:
            return PeakDecision(cell1, score1, "hard_negative")
        return PeakDecision(cell1, score1, "uncertain")
    if score2 > thresholds.hard_negative * score1 and score2 > thresholds.not_found:
        return PeakDecision(cell1, score1, "hard_negative")
    return PeakDecision(cell1, score1, "normal")
