"""Environment settings with PyTracking's names, resolved without any hand-edited ``local.py``.

Each setting is resolved in this order:

1. an explicit override passed to :func:`env_settings` (``env_settings(results_path=...)``),
2. the environment variable ``PYTRACKING_<NAME>`` (``PYTRACKING_LASOT_PATH``),
3. the settings file: ``$PYTRACKING_SETTINGS`` or ``~/.config/pytracking_ext/settings.toml``
   (a legacy PyTracking ``local.py`` is accepted too when that variable points at one; a file the
   variable names must exist - an empty one, or ``/dev/null``, means no settings),
4. a default under the workspace folder (``workspace_dir``, itself ``./workspace`` unless set).

Dataset paths default to empty; asking for an empty one raises a one-line error naming the
setting and the variable to set. ``python -m pytracking_ext.settings --init`` writes a commented
template; an existing file is never overwritten.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import SettingsError
from .overrides import unknown_name_message
from .utils.io import atomic_write_text

ENV_PREFIX = "PYTRACKING_"
SETTINGS_FILE_VARIABLE = "PYTRACKING_SETTINGS"
DEFAULT_SETTINGS_FILE = Path("~/.config/pytracking_ext/settings.toml")

# Paths derived from the workspace when not set: setting -> sub-folder of the workspace.
_WORKSPACE_DEFAULTS = {
    "results_path": "tracking_results",
    "segmentation_path": "segmentation_results",
    "network_path": "networks",
    "result_plot_path": "result_plots",
    "cache_dir": "cache",
    "got_packed_results_path": "packed_results/got10k",
    "tn_packed_results_path": "packed_results/trackingnet",
    "got_reports_path": "got10k_reports",
}

_DESCRIPTIONS = {
    "workspace_dir": "folder under which all derived defaults live",
    "results_path": "box, time and score text results",
    "segmentation_path": "per-frame PNG masks of segmentation trackers",
    "network_path": "folder of network weights (relative net paths of parameter files)",
    "result_plot_path": "analysis reports: tables, plots, summary.csv",
    "cache_dir": "generated metadata (DAVIS/YouTube-VOS scans); never inside a dataset",
    "lasot_path": "LaSOT root: the folder holding the class folders (airplane/, ...)",
    "got10k_path": "GOT-10k root: holds train/, val/, test/",
    "trackingnet_path": "TrackingNet root: holds TEST/ (and TRAIN_0..11)",
    "uav_path": "UAV123 root: holds data_seq/ and anno/",
    "nfs_path": "NFS root in PyTracking's layout: sequences/ and anno/",
    "otb_path": "OTB-100 root: one folder per sequence",
    "vot_path": "VOT root: one folder per sequence (or a toolkit sequences/ folder)",
    "davis_dir": "DAVIS 2017 root: JPEGImages/, Annotations/, ImageSets/",
    "davis16_dir": "DAVIS 2016 root (same layout as 2017)",
    "youtubevos_dir": "YouTube-VOS root: holds 2018/ and/or 2019/",
}


@dataclass
class EnvSettings:
    """All PyTracking settings (including the ones upstream forgot to define)."""

    workspace_dir: str = ""
    results_path: str = ""
    segmentation_path: str = ""
    network_path: str = ""
    result_plot_path: str = ""
    cache_dir: str = ""
    otb_path: str = ""
    nfs_path: str = ""
    uav_path: str = ""
    tpl_path: str = ""
    vot_path: str = ""
    got10k_path: str = ""
    lasot_path: str = ""
    lasot_extension_subset_path: str = ""
    trackingnet_path: str = ""
    oxuva_path: str = ""
    davis_dir: str = ""
    davis16_dir: str = ""
    davis_testdev_dir: str = ""
    youtubevos_dir: str = ""
    lasot_mask_path: str = ""
    got10k_mask_path: str = ""
    trackingnet_mask_path: str = ""
    dataspec_path: str = ""
    avist_path: str = ""
    lagot_path: str = ""
    mobiface_path: str = ""
    got_packed_results_path: str = ""
    got_reports_path: str = ""
    tn_packed_results_path: str = ""

    def __post_init__(self) -> None:
        # Where each value came from ('argument', 'environment (...)', a file, 'default').
        self.sources: dict[str, str] = {}

    @staticmethod
    def variable(name: str) -> str:
        """The environment variable that overrides setting ``name``."""
        return ENV_PREFIX + name.upper()

    def require(self, name: str, what: str | None = None) -> Path:
        """Return setting ``name`` as an existing folder, or raise a one-line error saying how to set it."""
        if name not in setting_names():
            raise SettingsError(f"unknown setting '{name}'; known settings: {', '.join(setting_names())}")
        value = getattr(self, name)
        label = what or name
        if not value:
            raise SettingsError(
                f"{label}: setting '{name}' is not set; export {self.variable(name)}=/path "
                f"or add {name} to {settings_file_path()}"
            )
        path = Path(value).expanduser()
        if not path.is_dir():
            raise SettingsError(
                f"{label}: setting '{name}' points to {path}, which is not a folder "
                f"(from {self.sources.get(name, 'default')}; override with {self.variable(name)})"
            )
        return path


def setting_names() -> list[str]:
    return [f.name for f in fields(EnvSettings)]


def settings_file_path() -> Path:
    """The settings file in use: ``$PYTRACKING_SETTINGS`` or the per-user default."""
    return Path(os.environ.get(SETTINGS_FILE_VARIABLE) or DEFAULT_SETTINGS_FILE).expanduser()


def _check_settings_file(path: Path) -> bool:
    """Whether there is a settings file to read at ``path``.

    The per-user default may be absent; a file named by ``$PYTRACKING_SETTINGS`` must exist (an
    empty file, or ``/dev/null``, stands for no settings), and a folder is never a settings file.
    """
    named = bool(os.environ.get(SETTINGS_FILE_VARIABLE))
    origin = f"{SETTINGS_FILE_VARIABLE} points to {path}" if named else f"settings file {path}"
    if path.is_dir():
        raise SettingsError(f"{origin}, which is a folder, not a settings file")
    if not path.exists():
        if named:
            raise SettingsError(f"{origin}, which does not exist (write one with python -m pytracking_ext.settings "
                                f"--init, or unset {SETTINGS_FILE_VARIABLE})")
        return False
    return True


def _read_settings_file(path: Path) -> dict[str, Any]:
    if not _check_settings_file(path):
        return {}
    if path.suffix == ".py":
        return _read_legacy_local_py(path)
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise SettingsError(f"settings file {path} is not valid TOML: {err}") from None
    except OSError as err:
        raise SettingsError(f"settings file {path} cannot be read: {err.strerror or err}") from None
    known = setting_names()
    for key, value in data.items():
        if key not in known:
            raise SettingsError(f"settings file {path}: {unknown_name_message(key, known, 'setting', '')}")
        if not isinstance(value, str):
            raise SettingsError(f"settings file {path}: {key} must be a quoted path, got {value!r}")
    return dict(data)


def _read_legacy_local_py(path: Path) -> dict[str, Any]:
    """Accept PyTracking's ``local.py`` (function ``local_env_settings()`` or class form)."""
    spec = importlib.util.spec_from_file_location("_pytracking_legacy_local", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # a user file: report whatever broke it, never rewrite it
        raise SettingsError(f"legacy settings file {path} failed to load: {type(err).__name__}: {err}") from None
    if hasattr(module, "local_env_settings"):
        obj = module.local_env_settings()
    elif hasattr(module, "EnvironmentSettings"):
        obj = module.EnvironmentSettings()
    else:
        raise SettingsError(f"legacy settings file {path} defines neither local_env_settings() nor EnvironmentSettings")
    known = set(setting_names())
    return {k: str(v) for k, v in vars(obj).items() if k in known and v not in (None, "")}


def env_settings(**overrides: Any) -> EnvSettings:
    """Resolve every setting (argument > environment > settings file > default)."""
    names = setting_names()
    bad = sorted(set(overrides) - set(names))
    if bad:
        raise SettingsError(f"unknown setting(s) {', '.join(bad)}; known settings: {', '.join(names)}")
    file_path = settings_file_path()
    from_file = _read_settings_file(file_path)
    settings = EnvSettings()
    for name in names:
        variable = EnvSettings.variable(name)
        if overrides.get(name) not in (None, ""):
            value, source = str(overrides[name]), "argument"
        elif os.environ.get(variable):
            value, source = os.environ[variable], f"environment ({variable})"
        elif from_file.get(name):
            value, source = from_file[name], str(file_path)
        else:
            value, source = "", "default"
        setattr(settings, name, value)
        settings.sources[name] = source
    if not settings.workspace_dir:
        settings.workspace_dir = str(Path.cwd() / "workspace")
    for name, sub in _WORKSPACE_DEFAULTS.items():
        if not getattr(settings, name):
            setattr(settings, name, str(Path(settings.workspace_dir) / sub))
    return settings


def template_text() -> str:
    """A commented TOML template listing every setting with its variable."""
    lines = [
        "# pytracking_ext settings. Uncomment what you need; environment variables",
        "# PYTRACKING_<NAME> override this file, and unset values use the defaults shown.",
        "",
    ]
    for name in setting_names():
        desc = _DESCRIPTIONS.get(name, "")
        if name in _WORKSPACE_DEFAULTS:
            default = f"<workspace_dir>/{_WORKSPACE_DEFAULTS[name]}"
        elif name == "workspace_dir":
            default = "./workspace"
        else:
            default = "(unset)"
        lines.append(f"# {desc + '; ' if desc else ''}env {EnvSettings.variable(name)}; default {default}")
        lines.append(f'# {name} = ""')
        lines.append("")
    return "\n".join(lines)


def write_template(path: Path, force: bool = False) -> Path:
    """Write the template to ``path``; refuse to replace an existing file unless ``force``."""
    path = Path(path).expanduser()
    if path.exists() and not force:
        raise SettingsError(f"{path} exists; not overwriting it (pass --force to replace it)")
    atomic_write_text(path, template_text())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytracking_ext.settings", description=__doc__.split("\n")[0])
    parser.add_argument("--init", nargs="?", const=str(settings_file_path()), metavar="PATH",
                        help="write a commented template (default: the settings file in use)")
    parser.add_argument("--force", action="store_true", help="with --init: replace an existing file")
    args = parser.parse_args(argv)
    try:
        if args.init:
            print(f"wrote {write_template(Path(args.init), force=args.force)}")
            return 0
        settings = env_settings()
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"# settings file: {settings_file_path()}")
    for name in setting_names():
        print(f"{name:30s} = {getattr(settings, name)!r:60s} # {settings.sources.get(name, 'default')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
