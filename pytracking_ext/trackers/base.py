"""The tracker contract shared by every tracker (PyTracking's ``BaseTracker``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .params import TrackerParams


class BaseTracker:
    """Base class: ``initialize`` on the first frame, ``track`` on every later one.

    ``image`` is always an ``(H, W, 3) uint8`` RGB array. ``initialize`` receives ``init_bbox``
    (``[x, y, w, h]``) and optionally ``init_mask``; ``track`` receives ``previous_output``
    (what the tracker returned on the previous frame). Returned dicts carry ``target_bbox``,
    and for segmentation trackers ``segmentation`` (and any private keys they need later).
    Heavy work (loading networks) belongs in :meth:`initialize_features`, not ``__init__``.
    With ``--debug`` the runner sets :attr:`debug_views` (see ``pytracking_ext.visualization.debug``).
    """

    #: 'default' = the tracker handles multi-object info itself; 'parallel' = one instance per object.
    multiobj_mode = "parallel"

    def __init__(self, params: TrackerParams) -> None:
        self.params = params
        # Set by the runner when --debug > 0: register(data, kind, title, level) shows a view.
        self.debug_views = None

    def predicts_segmentation_mask(self) -> bool:
        return False

    def initialize_features(self) -> None:
        """Load networks and other heavy state (called before the first ``initialize``; must be idempotent)."""

    def initialize(self, image: np.ndarray, info: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def track(self, image: np.ndarray, info: dict[str, Any] | None = None) -> dict[str, Any]:
        raise NotImplementedError


def state_footprint(tracker: Any) -> tuple[int, int]:
    """``(bytes, items)`` of the online state reachable from ``tracker``: array/tensor bytes and container lengths.

    Networks (objects with ``state_dict``), parameter sets and classes are left out: they do not
    change while tracking. Used by ``benchmarks/long_video.py`` and its test to check that nothing
    is kept per frame (docs/api.md, long videos): both numbers must stay flat after the first frames.
    A deque with a ``maxlen`` counts as ``maxlen`` items (RTS's scale history fills to 60 entries).
    """
    seen: set[int] = set()
    total_bytes = total_items = 0
    stack = [tracker]
    while stack:
        value = stack.pop()
        if id(value) in seen or value is None or isinstance(value, (str, bytes, int, float, bool, type)):
            continue
        seen.add(id(value))
        if isinstance(value, np.ndarray):
            total_bytes += value.nbytes
        elif hasattr(value, "element_size") and hasattr(value, "nelement"):  # a tensor (torch not imported)
            total_bytes += value.element_size() * value.nelement()
        elif isinstance(value, dict):
            total_items += len(value)
            stack.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)) or type(value).__name__ == "deque":
            # a bounded deque counts at its capacity: filling it up to its bound is not growth
            bound = getattr(value, "maxlen", None)
            total_items += len(value) if bound is None else bound
            stack.extend(value)
        elif hasattr(value, "state_dict") or isinstance(value, TrackerParams) or callable(value):
            continue
        elif hasattr(value, "__dict__"):
            stack.extend(vars(value).values())
    return total_bytes, total_items
