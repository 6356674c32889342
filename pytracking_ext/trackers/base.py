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
