"""Tracker and parameter discovery by name.

Trackers live in :data:`TRACKERS`, filled from the entry-point group ``pytracking_ext.trackers``
(values ``"module:Class"``; the built-ins are declared in ``pyproject.toml`` like any plugin's).
Parameter sets are modules ``<package>.<tracker>.<param>`` exposing ``parameters() -> TrackerParams``,
searched in the packages of :data:`PARAMETER_PACKAGES` (entry-point group
``pytracking_ext.parameter_packages``, ``parameter`` among them). A parameter module never loads
weights itself. Names are listed without importing any tracker.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

from ..errors import UnknownNameError
from ..registry import Registry
from .base import BaseTracker
from .params import TrackerParams

TRACKERS = Registry("tracker", "pytracking_ext.trackers")
PARAMETER_PACKAGES = Registry("parameter package", "pytracking_ext.parameter_packages")


def get_tracker_class(name: str) -> type[BaseTracker]:
    """The tracker class registered as ``name`` (the error lists the known trackers)."""
    return TRACKERS.get(name)


def _parameter_packages() -> list[str]:
    raw = (PARAMETER_PACKAGES.raw(n) for n in PARAMETER_PACKAGES.names())
    return [p if isinstance(p, str) else p.__name__ for p in raw]


def parameter_names(tracker_name: str) -> list[str]:
    """Every parameter set available for ``tracker_name`` across the parameter packages.

    Modules whose name starts with ``_`` hold what the parameter sets share and are not listed.
    """
    names: set[str] = set()
    for package in _parameter_packages():
        spec = importlib.util.find_spec(f"{package}.{tracker_name}") if _has_package(package) else None
        if spec is not None and spec.submodule_search_locations:
            modules = pkgutil.iter_modules(spec.submodule_search_locations)
            names.update(m.name for m in modules if not m.ispkg and not m.name.startswith("_"))
    return sorted(names)


def _has_package(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def get_parameters(tracker_name: str, param_name: str, registry: Registry = TRACKERS) -> TrackerParams:
    """Call ``parameters()`` of ``<package>.<tracker_name>.<param_name>``.

    ``registry`` names the kind of method (trackers by default; the segmentation plugins pass
    theirs, their parameter modules live in the same ``parameter`` packages). Unknown names raise
    :class:`UnknownNameError` listing what exists; an existing module that fails to import
    propagates its own error (a broken file is not a missing one).
    """
    if tracker_name not in registry:
        registry.get(tracker_name)  # raises with the list of known names
    # a '_' module is a helper of the parameter sets (not listed), never a set itself
    packages = [] if param_name.startswith("_") else _parameter_packages()
    for package in packages:
        module_name = f"{package}.{tracker_name}.{param_name}"
        try:
            spec = importlib.util.find_spec(module_name)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            continue
        module = importlib.import_module(module_name)
        if not hasattr(module, "parameters"):
            raise UnknownNameError(f"parameter module {module_name} has no parameters() function")
        params = module.parameters()
        params.tracker_name = tracker_name
        params.param_name = param_name
        return params
    known = ", ".join(parameter_names(tracker_name)) or "(none)"
    raise UnknownNameError(
        f"unknown parameter '{param_name}' for {registry.kind} '{tracker_name}'; known parameters: {known}"
    )
