"""What the parameter shims call at run time inside a PyTracking checkout.

PyTracking's scripts run with ``<checkout>/pytracking`` as ``sys.path[0]``, where the top-level
name ``parameter`` is PyTracking's own parameter folder (now holding our shims), not our
``parameter`` package: a plain lookup would import the shim itself again and recurse. The lookup
therefore runs with those folders hidden from ``sys.path``.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..trackers import TrackerParams, get_parameters


def _is_pytracking_package_dir(entry: str) -> bool:
    folder = Path(entry or ".")
    return (folder / "evaluation" / "tracker.py").is_file() and (folder / "parameter").is_dir()


def _module_inside(module, folders: list[Path]) -> bool:
    origin = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), None)
    if origin is None:
        return False
    origin = Path(origin).resolve()
    return any(folder in origin.parents for folder in folders)


@contextmanager
def hidden_pytracking_package_dirs() -> Iterator[None]:
    """Temporarily drop ``<checkout>/pytracking``-style entries from ``sys.path`` (and what they shadowed)."""
    hidden = [entry for entry in sys.path if _is_pytracking_package_dir(entry)]
    folders = [Path(entry or ".").resolve() for entry in hidden]
    for name in [n for n in sys.modules if n == "parameter" or n.startswith("parameter.")]:
        if _module_inside(sys.modules[name], folders):
            del sys.modules[name]
    saved = list(sys.path)
    sys.path[:] = [entry for entry in sys.path if entry not in hidden]
    try:
        yield
    finally:
        sys.path[:] = saved


def parameters(tracker: str, param: str) -> TrackerParams:
    """:func:`pytracking_ext.trackers.get_parameters`, safe to call from PyTracking's scripts."""
    with hidden_pytracking_package_dirs():
        return get_parameters(tracker, param)
