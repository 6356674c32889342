"""Train-settings modules by name: ``run_training MODULE SETTINGS`` imports ``<package>.<SETTINGS>``.

:data:`TRAIN_SETTINGS` maps a module name to the Python package holding its settings modules
(each with ``run(settings)``). Installed plugins add entries through the entry-point group
``ltr_ext.train_settings`` (value: the package name).
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType

from pytracking_ext.errors import UnknownNameError
from pytracking_ext.registry import Registry

TRAIN_SETTINGS = Registry("train module", "ltr_ext.train_settings")
TRAIN_SETTINGS.add_all({
    "examples": "ltr_ext.train_settings.examples",
    "rts": "ltr_ext.train_settings.rts",
    "lmanet": "ltr_ext.train_settings.lmanet",
    "evs": "ltr_ext.train_settings.evs",
})


def _package_name(module_name: str) -> str:
    raw = TRAIN_SETTINGS.raw(module_name)
    return raw if isinstance(raw, str) else raw.__name__


def settings_names(module_name: str) -> list[str]:
    """The settings modules available under train module ``module_name``."""
    spec = importlib.util.find_spec(_package_name(module_name))
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(m.name for m in pkgutil.iter_modules(spec.submodule_search_locations) if not m.ispkg)


def get_settings_module(module_name: str, settings_name: str) -> ModuleType:
    """Import the settings module; unknown names list the known ones."""
    package = _package_name(module_name)
    known = settings_names(module_name)
    if settings_name not in known:
        raise UnknownNameError(f"unknown train settings '{settings_name}' in module '{module_name}'; "
                               f"known settings: {', '.join(known) or '(none)'}")
    module = importlib.import_module(f"{package}.{settings_name}")
    if not hasattr(module, "run"):
        raise UnknownNameError(f"train settings {package}.{settings_name} has no run(settings) function")
    return module
