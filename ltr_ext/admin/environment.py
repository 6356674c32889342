"""LTR's environment settings (``settings.env``: workspace and dataset folders) without a ``local.py``.

The fields and their resolution live in :mod:`pytracking_ext.settings`, shared with the
evaluation settings: argument, then ``LTR_<NAME>``, then the ``[ltr]`` table of the settings file
(``$PYTRACKING_SETTINGS`` or ``~/.config/pytracking_ext/settings.toml``), then a default. Paths
derived from the workspace (``tensorboard_dir``, ``pretrained_networks``) follow ``workspace_dir``
unless set themselves. Dataset folders default to empty and are checked only when used
(:meth:`EnvironmentSettings.require`, a one-line :class:`~pytracking_ext.errors.SettingsError`).
"""

from __future__ import annotations

from pytracking_ext.settings import LTR_ENV_PREFIX as ENV_PREFIX
from pytracking_ext.settings import EnvironmentSettings
from pytracking_ext.settings import ltr_env_settings as env_settings

__all__ = ["ENV_PREFIX", "EnvironmentSettings", "env_settings"]
