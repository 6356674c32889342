"""Key-frame schedule of the EVS pipeline (docs/evs.md §2.3) and its adaptive mode.

Fixed schedule (thesis Table 3.2): ICNet runs on every S-th frame, counted from the last key
frame; ``offset`` below is the number of frames since that key frame (1 .. S-1 for propagated
frames). With the Refiner on, ``refine_every`` (a [D] choice, §2.3) says on which propagated
frames of a cycle it runs: ``last`` (default: the scored frame, matches Tables 3.1/3.2),
``first`` or ``all``.

Adaptive mode (the thesis's future work; [D] ours): with ``adaptive_threshold`` set, a
propagated frame whose eq. 3.3 inconsistent fraction (forward-backward check of the warped
labels, before dilation; out-of-frame pixels count as inconsistent) exceeds the threshold
becomes a key frame itself: ICNet runs on that frame and its output replaces the propagation
(a scene cut is fixed on the cut frame, not one frame later). ``keyframe_interval`` then is the
*maximum* interval: counted from the last key frame, forced or scheduled, so a forced key frame
restarts the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytracking_ext.registry import Registry

from .errors import EVSConfigError

# name -> (frames since the key frame, key-frame interval) -> run the Refiner on this frame
REFINE_POLICIES = Registry("refine policy")
REFINE_POLICIES.add_all(
    {
        "last": lambda offset, interval: offset == interval - 1,
        "first": lambda offset, interval: offset == 1,
        "all": lambda offset, interval: True,
    }
)


@dataclass(frozen=True)
class KeyframeSchedule:
    """When ICNet and the Refiner run; see the module docstring."""

    interval: int
    refine: bool = False
    refine_every: str = "last"
    adaptive_threshold: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.interval, bool) or not isinstance(self.interval, int) or self.interval < 1:
            raise EVSConfigError(f"keyframe_interval must be an integer >= 1, got {self.interval!r}")
        REFINE_POLICIES.get(self.refine_every)
        threshold = self.adaptive_threshold
        if threshold is not None and not 0.0 <= threshold < 1.0:
            raise EVSConfigError(
                f"adaptive_threshold must be in [0, 1) (a fraction of pixels) or None, got {threshold}"
            )

    @property
    def adaptive(self) -> bool:
        return self.adaptive_threshold is not None

    def first_key(self, since_key: int | None) -> int:
        """Index (in a new stream) of its first scheduled key frame when the previous frame was
        ``since_key`` frames past its key frame (``None``: no previous frame, so 0)."""
        return 0 if since_key is None else max(0, self.interval - 1 - since_key)

    def is_key(self, offset: int) -> bool:
        """Whether the frame ``offset`` frames after the last key frame is a scheduled key frame."""
        return offset >= self.interval

    def refine_now(self, offset: int) -> bool:
        """Whether the Refiner runs on the propagated frame ``offset`` frames after the key frame."""
        return self.refine and REFINE_POLICIES.get(self.refine_every)(offset, self.interval)

    def force_key(self, inconsistent_fraction: float) -> bool:
        """Adaptive mode: whether a propagated frame with this eq. 3.3 fraction becomes a key frame."""
        return self.adaptive and inconsistent_fraction > self.adaptive_threshold
