"""Train settings: ``run_training MODULE SETTINGS``; the built-in packages ``examples`` and ``rts`` live here,
every package (these and the plugins') is registered through the ``ltr_ext.train_settings`` entry points."""

from .registry import TRAIN_SETTINGS, get_settings_module, package_name, settings_modules, settings_names

__all__ = ["TRAIN_SETTINGS", "get_settings_module", "package_name", "settings_modules", "settings_names"]
