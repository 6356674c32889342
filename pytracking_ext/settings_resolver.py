"""The one resolver behind every settings group: evaluation (``PYTRACKING_<NAME>``) and training (``LTR_<NAME>``).

A group is a dataclass of text fields deriving from :class:`ResolvedSettings`, registered with
:func:`register_group`. Each field is resolved in this order:

1. an explicit argument,
2. the group's environment variable (``PYTRACKING_LASOT_PATH``, ``LTR_CAMVID_DIR``),
3. the settings file, shared by every group: ``$PYTRACKING_SETTINGS`` or
   ``~/.config/pytracking_ext/settings.toml``. Evaluation keys sit at the top level, training keys
   in an ``[ltr]`` table (the two groups share names such as ``davis_dir`` and ``workspace_dir``,
   each with its own variable, so a table keeps ``PYTRACKING_X`` <-> ``x`` and ``LTR_X`` <-> ``ltr.x``
   one-to-one). A legacy PyTracking/LTR ``local.py`` named by the variable supplies every group the
   fields it knows by name,
4. a default: an empty text, or a sub-folder of the group's ``workspace_dir`` (``./workspace``).

Every error is a one-line :class:`~pytracking_ext.errors.SettingsError` naming the setting and its variable.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .errors import SettingsError
from .overrides import unknown_name_message

SETTINGS_FILE_VARIABLE = "PYTRACKING_SETTINGS"
DEFAULT_SETTINGS_FILE = Path("~/.config/pytracking_ext/settings.toml")
DEFAULT_SOURCE = "default"


class MissingFolderError(SettingsError, FileNotFoundError):
    """A folder setting is unset or names no folder.

    Also a ``FileNotFoundError``: training code has always caught missing data folders as one.
    """


@dataclass(frozen=True)
class SettingsGroup:
    """How one group of settings is named in the environment, the settings file and messages."""

    title: str  # 'evaluation', 'training': for listings
    prefix: str  # environment variables are prefix + NAME
    table: str | None  # None: top-level keys of the settings file; else the [table] holding them
    descriptions: Mapping[str, str] = field(default_factory=dict)
    workspace_defaults: Mapping[str, str] = field(default_factory=dict)  # setting -> sub-folder of workspace_dir

    def variable(self, name: str) -> str:
        """The environment variable that overrides setting ``name``."""
        return self.prefix + name.upper()

    def file_key(self, name: str) -> str:
        """How ``name`` is written in the settings file: ``lasot_path`` or ``[ltr] camvid_dir``."""
        return name if self.table is None else f"[{self.table}] {name}"

    def default_text(self, name: str) -> str:
        """The default of ``name`` as a template shows it."""
        if name == "workspace_dir":
            return "./workspace"
        if name in self.workspace_defaults:
            return f"<workspace_dir>/{self.workspace_defaults[name]}"
        return "(unset)"


class ResolvedSettings:
    """Base of a settings group's dataclass: where each value came from, and :meth:`require`."""

    group: ClassVar[SettingsGroup]

    def __post_init__(self) -> None:
        # Where each value came from ('argument', 'environment (...)', the settings file, 'default').
        self.sources: dict[str, str] = {}

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable that overrides setting ``name``."""
        return cls.group.variable(name)

    @classmethod
    def names(cls) -> list[str]:
        """Every setting of the group, in declaration order."""
        return [f.name for f in fields(cls)]

    def require(self, name: str, what: str | None = None) -> Path:
        """Return setting ``name`` as an existing folder, or raise a one-line error saying how to set it."""
        names = self.names()
        if name not in names:
            raise SettingsError(f"unknown setting '{name}'; known settings: {', '.join(names)}")
        value = getattr(self, name)
        label = what or name
        variable = self.variable(name)
        if not value:
            raise MissingFolderError(
                f"{label}: setting '{name}' is not set; export {variable}=/path "
                f"or add {self.group.file_key(name)} to {settings_file_path()}"
            )
        path = Path(value).expanduser()
        if not path.is_dir():
            raise MissingFolderError(
                f"{label}: setting '{name}' points to {path}, which is not a folder "
                f"(from {self.sources.get(name, DEFAULT_SOURCE)}; override with {variable})"
            )
        return path


S = TypeVar("S", bound=ResolvedSettings)

# settings-file table (None: top level) -> the group's dataclass
_GROUPS: dict[str | None, type[ResolvedSettings]] = {}


def register_group(cls: type[S]) -> type[S]:
    """Class decorator: make ``cls`` a group of the settings file (one group per table)."""
    _GROUPS[cls.group.table] = cls
    return cls


def groups() -> list[type[ResolvedSettings]]:
    """Every registered group, top-level keys first."""
    return sorted(_GROUPS.values(), key=lambda cls: cls.group.table is not None)


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
            raise SettingsError(
                f"{origin}, which does not exist (write one with python -m pytracking_ext.settings "
                f"--init, or unset {SETTINGS_FILE_VARIABLE})"
            )
        return False
    return True


def read_settings_file(path: Path) -> dict[str | None, dict[str, str]]:
    """The values in ``path`` per table (None: top level); empty when there is no file."""
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
    tables = {table for table in _GROUPS if table is not None}
    top = {key: value for key, value in data.items() if key not in tables}
    values = {None: _checked_values(path, top, None)}
    for table in tables:
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise SettingsError(f"settings file {path}: {table} must be a table ([{table}]), got {section!r}")
        values[table] = _checked_values(path, section, table)
    return values


def _checked_values(path: Path, data: Mapping[str, Any], table: str | None) -> dict[str, str]:
    """``data`` when every key is a setting of the group of ``table`` and every value a text."""
    known = _GROUPS[table].names() if table in _GROUPS else []
    where = f"settings file {path}" + ("" if table is None else f" [{table}]")
    for key, value in data.items():
        if key not in known:
            raise SettingsError(f"{where}: {_unknown_key_message(key, known, table)}")
        if not isinstance(value, str):
            raise SettingsError(f"{where}: {key} must be a quoted path, got {value!r}")
    return dict(data)


def _unknown_key_message(key: str, known: list[str], table: str | None) -> str:
    """Point a key at the table it belongs to (``camvid_dir`` at the top level is an ``[ltr]`` key)."""
    for other_table, cls in _GROUPS.items():
        if other_table != table and key in cls.names():
            place = "the top level" if other_table is None else f"the [{other_table}] table"
            return f"'{key}' is a {cls.group.title} setting: put it in {place} ({cls.variable(key)} in the environment)"
    return unknown_name_message(key, known, "setting", "")


def _read_legacy_local_py(path: Path) -> dict[str | None, dict[str, str]]:
    """Accept PyTracking's ``local.py`` (function ``local_env_settings()``) or LTR's (class ``EnvironmentSettings``)."""
    spec = importlib.util.spec_from_file_location("_pytracking_legacy_local", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # noqa: BLE001 - a user file: report whatever broke it, never rewrite it
        raise SettingsError(f"legacy settings file {path} failed to load: {type(err).__name__}: {err}") from None
    if hasattr(module, "local_env_settings"):
        obj = module.local_env_settings()
    elif hasattr(module, "EnvironmentSettings"):
        obj = module.EnvironmentSettings()
    else:
        raise SettingsError(f"legacy settings file {path} defines neither local_env_settings() nor EnvironmentSettings")
    given = {k: str(v) for k, v in vars(obj).items() if v not in (None, "")}
    return {table: {k: v for k, v in given.items() if k in cls.names()} for table, cls in _GROUPS.items()}


def resolve(cls: type[S], overrides: Mapping[str, Any]) -> S:
    """Every setting of group ``cls`` (argument > environment > settings file > default)."""
    names = cls.names()
    bad = sorted(set(overrides) - set(names))
    if bad:
        raise SettingsError(f"unknown setting(s) {', '.join(bad)}; known settings: {', '.join(names)}")
    group = cls.group
    file_path = settings_file_path()
    from_file = read_settings_file(file_path).get(group.table, {})
    file_source = str(file_path) if group.table is None else f"{file_path} [{group.table}]"
    settings = cls()
    for name in names:
        variable = group.variable(name)
        if overrides.get(name) not in (None, ""):
            value, source = str(overrides[name]), "argument"
        elif os.environ.get(variable):
            value, source = os.environ[variable], f"environment ({variable})"
        elif from_file.get(name):
            value, source = from_file[name], file_source
        else:
            value, source = "", DEFAULT_SOURCE
        setattr(settings, name, value)
        settings.sources[name] = source
    if "workspace_dir" in names and not settings.workspace_dir:
        settings.workspace_dir = str(Path.cwd() / "workspace")
    for name, sub in group.workspace_defaults.items():
        if not getattr(settings, name):
            setattr(settings, name, str(Path(settings.workspace_dir) / sub))
    return settings
