"""Readings of EVS 01 (S = 1 with W and R): what a key frame does with the prediction of t-1.

Thesis Table 3.2 lists EVS 01 (ICNet on every frame, warping and refinement on) at 67.6 mIoU and
37 Hz against ICNet's 67.3 at 39 Hz, but the chapter does not describe the key-frame case
(docs/evs.md §2.3, §9 #13). 37 Hz is ICNet plus about 1.4 ms, so no Refiner run fits: only the
IAM (a few lightweight operations at 512×256, thesis §3.3.4) can be added. The readings, values of
the ``keyframe_blend`` setting (``True`` = ``DEFAULT_READING``, ``False`` = ``'off'``):

- ``off``: ICNet's output alone.
- ``chain`` (``True`` before issue 22): eq. 3.4 with ICNet's P as P_refiner and P_warped = the
  *output* of t-1 warped; that output becomes the next frame's state, so a region that stays
  consistent keeps a label warped again and again since the first frame and never takes a fresh
  ICNet output (CamVid val stream: 48.95 mIoU against 54.93 for ICNet alone, docs/evs.md §2.3).
- ``fresh`` (the default, ``True``): the same eq. 3.4 output, but the state carried to t+1 is
  ICNet's own P and L of t, as after the key frame of every other operating point (Fig. 3.2
  propagates the network's predictions P_i, L_i), so every warped value is one propagation old:
  consistent regions keep ICNet(t-1) warped, inconsistent ones take ICNet(t) (54.99).
- ``fresh_mean``: state as ``fresh``; consistent regions take the mean of ICNet(t) and ICNet(t-1)
  warped (a two-frame temporal average), inconsistent ones ICNet(t) alone (55.25; the average is
  ours, eq. 3.4 has none).

Each reading is ``KeyframeInputs -> KeyframeBlend``; L_F, L_BF and P_warped come from the state of
t-1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pytracking_ext.registry import Registry

from ..errors import EVSConfigError
from ..iam import InconsistencyAttention


@dataclass(frozen=True)
class KeyframeBlend:
    """The key frame's output P, L, the P, L carried to the next frame, and eq. 3.3's fraction."""

    probabilities: torch.Tensor
    labels: np.ndarray
    state_probabilities: torch.Tensor
    state_labels: np.ndarray
    inconsistent_fraction: float


@dataclass(frozen=True)
class KeyframeInputs:
    """What a reading blends: the IAM, L_F and L_BF of eq. 3.3, ICNet's P and L of the key frame, and
    P of t-1 warped to it."""

    iam: InconsistencyAttention
    l_f: np.ndarray
    l_bf: np.ndarray
    p_key: torch.Tensor
    l_key: np.ndarray
    p_warped: torch.Tensor

    def blend(self, p_previous: torch.Tensor) -> Any:
        """Eq. 3.4 with ICNet's P as P_refiner against ``p_previous`` (the IAM's output)."""
        return self.iam(self.l_f, self.l_bf, self.p_key, p_previous)


def chain_blend(x: KeyframeInputs) -> KeyframeBlend:
    """Eq. 3.4 with ICNet as P_refiner; the blend is also the state (the reading before issue 22)."""
    out = x.blend(x.p_warped)
    return KeyframeBlend(out.probabilities, out.labels, out.probabilities, out.labels, out.inconsistent_fraction)


def fresh_blend(x: KeyframeInputs) -> KeyframeBlend:
    """Eq. 3.4 with ICNet as P_refiner for the output; ICNet's own P, L go on to the next frame."""
    out = x.blend(x.p_warped)
    return KeyframeBlend(out.probabilities, out.labels, x.p_key, x.l_key, out.inconsistent_fraction)


def fresh_mean_blend(x: KeyframeInputs) -> KeyframeBlend:
    """Consistent regions: mean of ICNet(t) and ICNet(t-1) warped; inconsistent: ICNet(t); state: ICNet(t)."""
    # pixels without a class in P_warped (outside frame t-1) are inconsistent (L_F = ignore), so
    # the mask is 1 there and the halved mean never reaches the output
    out = x.blend(x.p_warped.add(x.p_key.to(x.p_warped.dtype)).mul_(0.5))
    return KeyframeBlend(out.probabilities, out.labels, x.p_key, x.l_key, out.inconsistent_fraction)


# name -> the key-frame step of that reading (False means 'off', True DEFAULT_READING: blend_name)
KEYFRAME_BLENDS = Registry("keyframe_blend reading")
KEYFRAME_BLENDS.add_all({"chain": chain_blend, "fresh": fresh_blend, "fresh_mean": fresh_mean_blend})

OFF = "off"
DEFAULT_READING = "fresh"  # what True selects (issue 22; 'chain' before)


def blend_name(value: bool | str | None) -> str | None:
    """The registry name of a ``keyframe_blend`` value; None when the blend is off."""
    if value is None or value is False or value == OFF:
        return None
    if value is True:
        return DEFAULT_READING
    if not isinstance(value, str) or value not in KEYFRAME_BLENDS:
        known = ", ".join(["False", "True", repr(OFF), *map(repr, KEYFRAME_BLENDS.names())])
        raise EVSConfigError(f"unknown keyframe_blend {value!r}; known: {known}")
    return value
