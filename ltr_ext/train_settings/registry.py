"""Train-settings modules by name: ``run_training MODULE SETTINGS`` imports ``<package>.<SETTINGS>``.

:data:`TRAIN_SETTINGS` maps a module name to the Python package holding its settings modules
(each with ``run(settings)``). Every package, built-in or not, comes from the entry-point group
``ltr_ext.train_settings`` (value: the package name; see ``pyproject.toml``); tests may add
one with ``TRAIN_SETTINGS.register``. Listing the names imports none of the packages.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType

from pytracking_ext.errors import UnknownNameError
from pytracking_ext.registry import Registry

TRAIN_SETTINGS = Registry("train module", "ltr_ext.train_settings")


def package_name(module_name: str) -> str:
    """The package of train module ``module_name`` (unknown names list the known ones)."""
    raw = TRAIN_SETTINGS.raw(module_name)
    return raw if isinstance(raw, str) else raw.__name__


def settings_names(module_name: str) -> list[str]:
    """The settings modules available under train module ``module_name``.

    Modules whose name starts with ``_`` hold what the settings modules share and are not listed.
    """
    spec = importlib.util.find_spec(package_name(module_name))
    if spec is None or not spec.submodule_search_locations:
        return []
    modules = pkgutil.iter_modules(spec.submodule_search_locations)
    return sorted(m.name for m in modules if not m.ispkg and not m.name.startswith("_"))


def settings_modules() -> list[tuple[str, str, str]]:
    """``(module, settings, dotted module path)`` of every registered train-settings module."""
    return [
        (module, name, f"{package_name(module)}.{name}")
        for module in TRAIN_SETTINGS.names()
        for name in settings_names(module)
    ]


def get_settings_module(module_name: str, settings_name: str) -> ModuleType:
    """Import the settings module; unknown names list the known ones."""
    package = package_name(module_name)
    known = settings_names(module_name)
    if settings_name not in known:
        raise UnknownNameError(
            f"unknown train settings '{settings_name}' in module '{module_name}'; "
            f"known settings: {', '.join(known) or '(none)'}"
        )
    module = importlib.import_module(f"{package}.{settings_name}")
    if not hasattr(module, "run"):
        raise UnknownNameError(f"train settings {package}.{settings_name} has no run(settings) function")
    return module
