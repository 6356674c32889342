"""The shim files that expose our trackers, parameters and train settings inside a PyTracking checkout.

Each shim only imports from this package, so the checkout runs our implementation unchanged:
``pytracking/tracker/<name>/__init__.py`` (``get_tracker_class()``),
``pytracking/parameter/<name>/<param>.py`` (``parameters()``) and
``ltr/train_settings/<module>/<name>.py`` (``run(settings)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import SettingsError
from ..trackers import TRACKERS, get_tracker_class, parameter_names

#: A prefix makes the folder (= module) names ``prefix + name``: it must keep them Python identifiers,
#: which also keeps every shim path inside the checkout (no '/', '.' or '..').
_PREFIX = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*)?")
HEADER = "# Written by `python -m pytracking_ext.bridge install`; `... uninstall` removes it.\n"


@dataclass
class ShimPlan:
    """Files to write (relative POSIX path -> text) and the folders each tracker claims."""

    files: dict[str, str] = field(default_factory=dict)
    #: Folders that must not exist unless we created them (a user's tracker of the same name).
    owned_dirs: list[str] = field(default_factory=list)


def tracker_shim(name: str) -> str:
    return (
        f"{HEADER}from pytracking_ext.trackers import get_tracker_class as _tracker_class\n\n\n"
        f"def get_tracker_class():\n    return _tracker_class({name!r})\n"
    )


def parameter_shim(name: str, param: str) -> str:
    return (
        f"{HEADER}from pytracking_ext.bridge.runtime import parameters as _parameters\n\n\n"
        f"def parameters():\n    return _parameters({name!r}, {param!r})\n"
    )


def train_settings_shim(module: str) -> str:
    return (
        f"{HEADER}from pytracking_ext.bridge.runtime import run_training as _run_training\n\n\n"
        f"def run(settings):\n    return _run_training({module!r}, settings)\n"
    )


def train_settings_modules() -> list[tuple[str, str, str]]:
    """``(module, name, dotted path)`` of every registered train-settings module (plugins' included)."""
    from ltr_ext.train_settings import settings_modules

    return settings_modules()


def check_prefix(prefix: str) -> str:
    """``prefix`` when it is empty or an identifier (letters, digits, '_', not starting with a digit)."""
    if not _PREFIX.fullmatch(prefix):
        raise SettingsError(
            f"--prefix {prefix!r}: use letters, digits and '_' only, not starting with a digit "
            "(it becomes part of module names)"
        )
    return prefix


def plan_shims(trackers: list[str] | None = None, prefix: str = "") -> ShimPlan:
    """The shims for ``trackers`` (default: every registered tracker) under names ``prefix + name``."""
    check_prefix(prefix)
    names = TRACKERS.names() if trackers is None else list(trackers)
    plan = ShimPlan()
    for name in names:
        get_tracker_class(name)  # unknown names fail here, listing the known ones
        shown = prefix + name
        tracker_dir, param_dir = f"pytracking/tracker/{shown}", f"pytracking/parameter/{shown}"
        plan.owned_dirs += [tracker_dir, param_dir]
        plan.files[f"{tracker_dir}/__init__.py"] = tracker_shim(name)
        plan.files[f"{param_dir}/__init__.py"] = HEADER
        for param in parameter_names(name):
            plan.files[f"{param_dir}/{param}.py"] = parameter_shim(name, param)
    for module, name, path in train_settings_modules():
        if trackers is not None and module not in names:
            continue
        folder = f"ltr/train_settings/{prefix}{module}"
        if folder not in plan.owned_dirs:
            plan.owned_dirs.append(folder)
        plan.files.setdefault(f"{folder}/__init__.py", HEADER)
        plan.files[f"{folder}/{name}.py"] = train_settings_shim(path)
    return plan
