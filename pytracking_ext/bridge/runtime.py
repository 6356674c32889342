"""What the shims call at run time inside a PyTracking checkout.

PyTracking's scripts run with ``<checkout>/pytracking`` as ``sys.path[0]``, where the top-level
name ``parameter`` is PyTracking's own parameter folder (now holding our shims), not our
``parameter`` package: a plain lookup would import the shim itself again and recurse. The lookup
therefore runs with those folders hidden from ``sys.path``.

Two more translations make the checkout's own configuration count: network files named
relatively are also looked up in the checkout's ``network_path`` (its ``local.py``), and LTR's
``settings`` object is turned into ours, keeping its workspace and dataset folders. LTR's
``run_training.py`` has no ``--set``: the variable :data:`SET_VARIABLE` carries the same
overrides (``LTR_EXT_SET="max_epochs=1 samples_per_epoch=8"``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import OverrideError, PytrackingError, SettingsError
from ..evaluation.network_loading import NetworkSpec
from ..overrides import parse_assignment
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


def checkout_network_path() -> Path | None:
    """``network_path`` of the running PyTracking checkout's ``local.py``; None outside one.

    Only read when that ``local.py`` exists: PyTracking's ``env_settings`` writes a template into
    the checkout otherwise, which is not ours to do.
    """
    try:
        if importlib.util.find_spec("pytracking.evaluation.local") is None:
            return None
        from pytracking.evaluation.environment import env_settings as checkout_env_settings

        path = checkout_env_settings().network_path
    except Exception:  # noqa: BLE001 - a foreign checkout's local.py can raise anything; keep our own lookup
        # not inside a checkout, or a local.py that does not import
        return None
    return Path(path).expanduser() if path else None


def use_checkout_networks(params: TrackerParams, network_dir: Path | None) -> TrackerParams:
    """Point relative network paths missing from our ``network_path`` at ``network_dir`` when found there."""
    if network_dir is None:
        return params
    for value in vars(params).values():
        if isinstance(value, NetworkSpec) and not Path(value.path).expanduser().is_absolute():
            candidate = value.resolve(network_dir)
            if not value.resolve().is_file() and candidate.is_file():
                value.path = str(candidate)
    return params


def parameters(tracker: str, param: str) -> TrackerParams:
    """:func:`pytracking_ext.trackers.get_parameters`, safe to call from PyTracking's scripts."""
    with hidden_pytracking_package_dirs():
        params = get_parameters(tracker, param)
    return use_checkout_networks(params, checkout_network_path())


#: environment variable with ``key=value`` overrides (shell-quoted, space-separated) for bridged training
SET_VARIABLE = "LTR_EXT_SET"


def ltr_ext_settings(ltr_settings: Any, assignments: str = ""):
    """Our :class:`ltr_ext.admin.settings.Settings` from the object LTR's ``run_training.py`` builds.

    Its environment (``workspace_dir``, ``tensorboard_dir``, dataset folders from LTR's
    ``local.py``) replaces ours wherever it is set; everything else keeps our defaults.
    ``assignments`` are ``run_training --set`` overrides, e.g. ``"max_epochs=1 batch_size=2"``,
    checked as ``--set`` is (:mod:`pytracking_ext.overrides`).
    """
    from ltr_ext.admin.settings import Settings

    settings = Settings()
    ltr_env = getattr(ltr_settings, "env", None)
    for key in vars(settings.env):
        value = getattr(ltr_env, key, None)
        if isinstance(value, str) and value:
            setattr(settings.env, key, value)
    for key in ("module_name", "script_name", "project_path"):
        if isinstance(getattr(ltr_settings, key, None), str):
            setattr(settings, key, getattr(ltr_settings, key))
    settings.rank, settings.world_size = 0, 1
    try:
        texts = shlex.split(assignments)
    except ValueError as err:  # an unbalanced quote
        raise SettingsError(f"{SET_VARIABLE}: {err} in {assignments!r}") from None
    for text in texts:
        try:
            key, value = parse_assignment(text)
        except OverrideError as err:
            raise SettingsError(f"{SET_VARIABLE}: {err}") from None
        settings.override(key, value, source=SET_VARIABLE)  # checked as run_training checks --set
    return settings


def keep_cache_in(folder: Path) -> None:
    """Use ``folder`` as ``cache_dir`` unless the user chose one.

    Dataset scans are cached under the tracking settings' ``cache_dir``, by default below the
    current folder, which for LTR's script is the user's checkout.
    """
    from ..settings import EnvSettings, env_settings

    if env_settings().sources.get("cache_dir", "default") == "default":
        os.environ[EnvSettings.variable("cache_dir")] = str(folder)


def run_training(module: str, ltr_settings: Any) -> Any:
    """Run our train-settings ``module`` for LTR's ``run_training.py`` (what the train shims call).

    Missing data folders and bad settings end the process with a one-line error and exit code 2,
    as ``python -m ltr_ext.run_training`` does, instead of a traceback through LTR's script.
    """
    from ltr_ext.trainers import seed_everything

    try:
        settings = ltr_ext_settings(ltr_settings, os.environ.get(SET_VARIABLE, ""))
        keep_cache_in(Path(settings.env.workspace_dir) / "cache")
        seed_everything(int(settings.seed))
        run = importlib.import_module(module).run
        with settings.declaring():  # the module's first use of env / device checks every LTR_EXT_SET name
            return run(settings)
    except (FileNotFoundError, PytrackingError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
