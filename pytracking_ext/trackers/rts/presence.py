"""Per-frame target-presence score of RTS from its two branches (docs/rts.md "Presence score").

The score restates the tests the tracker already applies to decide whether a branch found the
target (thesis 5.3.6 and 5.4.2; docs/rts.md C.4 step 6, C.6), as numbers in [0, 1] that cross
0.5 exactly where those tests flip:

- segmentation: the mask is non-empty when its largest probability exceeds 0.5 (``t_ss``), and
  not "too small" when its probability mass exceeds ``min_mask_area``. Both become soft
  confidences, ``p_max`` and ``mass / (mass + min_mask_area)``, and the segmentation confidence is
  their geometric mean;
- instance branch: its peak is "found" at ``t_sc`` (``clf_target_not_found_threshold``); the peak
  is mapped piecewise-linearly so that 0 -> 0, ``t_sc`` -> 0.5 and 1 -> 1.

The instance branch only counts once it has shown that it can see this target (its peak reached
``t_sc`` on some frame): a branch whose peaks never reach ``t_sc`` (the shipped ``rts_small``,
docs/results.md) would otherwise pull every frame to "absent". Then the score is the mean of both
confidences, otherwise the segmentation confidence alone.
"""

from __future__ import annotations

import math

# Floor of the mass scale: keeps the mass confidence defined for min_mask_area <= 0 (no "too small" test).
MIN_MASS_SCALE = 1.0


def sigmoid(logit: float) -> float:
    """Logistic function, safe for large magnitudes (pasted logits reach +-100)."""
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    e = math.exp(logit)
    return e / (1.0 + e)


def segmentation_confidence(max_logit: float, mass: float, min_mask_area: float) -> float:
    """Geometric mean of the peak probability and ``mass / (mass + min_mask_area)``, in [0, 1]."""
    scale = max(float(min_mask_area), MIN_MASS_SCALE)
    mass = max(float(mass), 0.0)
    return math.sqrt(sigmoid(float(max_logit)) * mass / (mass + scale))


def classifier_confidence(peak: float, found_threshold: float) -> float:
    """The instance peak mapped to [0, 1] with ``found_threshold`` at 0.5 (piecewise linear)."""
    t = min(max(float(found_threshold), 1e-6), 1.0 - 1e-6)
    peak = float(peak)
    value = 0.5 * peak / t if peak < t else 0.5 + 0.5 * (peak - t) / (1.0 - t)
    return min(max(value, 0.0), 1.0)


def presence_score(seg_confidence: float, clf_confidence: float | None) -> float:
    """The frame's presence score: the mean of both confidences, or the segmentation's alone
    when ``clf_confidence`` is None (instance branch not yet reliable)."""
    if clf_confidence is None:
        return float(seg_confidence)
    return 0.5 * (float(seg_confidence) + float(clf_confidence))
