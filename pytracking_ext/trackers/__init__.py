"""Trackers by name (:data:`TRACKERS`, entry-point group ``pytracking_ext.trackers``) and their
parameter sets (``<package>.<tracker>.<param>``); the lookups are in :mod:`.registry`."""

from .base import BaseTracker
from .params import TrackerParams
from .registry import PARAMETER_PACKAGES, TRACKERS, get_parameters, get_tracker_class, parameter_names

__all__ = [
    "TRACKERS",
    "PARAMETER_PACKAGES",
    "BaseTracker",
    "TrackerParams",
    "get_tracker_class",
    "get_parameters",
    "parameter_names",
]
