"""Build a tracker from a :class:`TrackerSpec`: the plain tracker, or one behind
:class:`~pytracking_ext.trackers.multiobject.MultiObjectWrapper` for several objects.

Its own module so that both the runner and the public API (which the runner drives trackers
through) can use it without importing each other.
"""

from __future__ import annotations

from ..trackers import get_parameters, get_tracker_class
from ..trackers.multiobject import MultiObjectWrapper
from ..trackers.params import TrackerParams
from .data import Sequence
from .results import is_multi_object
from .tracker_spec import TrackerSpec


def build_tracker(
    spec: TrackerSpec,
    seq: Sequence | None = None,
    debug: int | None = None,
    multiobject: bool | None = None,
    params: TrackerParams | None = None,
):
    """Instantiate ``spec``'s tracker (wrapped per object for multi-object sequences).

    ``multiobject`` overrides what ``seq`` says (servers and streaming use have no sequence).
    ``params`` replaces the spec's parameter module (e.g. its parameters with another weights file).
    """
    params = get_parameters(spec.name, spec.param) if params is None else params
    params.run_id = spec.run_id
    if debug is not None:
        params.debug = debug
        params.visualization = bool(debug)
    tracker_class = get_tracker_class(spec.name)
    if multiobject is None:
        multiobject = seq is not None and is_multi_object(seq)
    if not multiobject:
        return tracker_class(params)
    mode = params.get("multiobj_mode", getattr(tracker_class, "multiobj_mode", "default"))
    if mode == "parallel":
        return MultiObjectWrapper(tracker_class, params)
    if mode == "default":
        return tracker_class(params)
    raise ValueError(f"tracker '{spec.name}': unknown multiobj_mode '{mode}' (expected 'default' or 'parallel')")
