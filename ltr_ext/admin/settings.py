"""The ``settings`` object handed to a train-settings module's ``run(settings)``.

A settings module declares its fields with ``settings.defaults(...)`` (in one or several steps)
and then starts working: reading data folders or the workspace (``settings.env``), or choosing
the device. User overrides (``--set``, ``LTR_EXT_SET``) are checked against those declarations:
a value's type when its field is declared, and, while :meth:`Settings.declaring` is active, every
override's name at the module's first use of ``env`` or ``device`` - before any data is read or
written and before the first epoch. The rules are :mod:`pytracking_ext.overrides`'.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from pytracking_ext.errors import OverrideError
from pytracking_ext.evaluation.precision import PRECISIONS
from pytracking_ext.overrides import check_key, check_value

from .environment import EnvironmentSettings, env_settings

# Fields the framework reads with a fallback instead of a default attribute; overridable all the same.
OPTIONAL_FIELDS: dict[str, Any] = {"device": "cpu", "plateau_metric": ("train", "Loss/total")}
# Framework fields that take one of a few names (checked when overridden).
CHOICES: dict[str, tuple[str, ...]] = {"amp": PRECISIONS}
# Bookkeeping of the override checks: never a setting, never saved in a checkpoint.
_BOOKKEEPING = frozenset({"_framework_defaults", "_declared", "_module_declared", "_overrides", "_declaring"})


class Settings:
    """LTR's settings: ``env`` plus whatever ``run()`` adds (``batch_size``, ``num_workers``, ...)."""

    def __init__(self, **overrides: Any) -> None:
        self.env = env_settings()
        self.use_gpu = torch.cuda.is_available()
        self.batch_size = 1
        self.num_workers = 0
        self.print_interval = 10
        self.print_stats: list[str] | None = None
        self.description = ""
        self.module_name = ""
        self.script_name = ""
        self.project_path = ""
        self.seed = 0
        self.normalize_mean = (0.485, 0.456, 0.406)
        self.normalize_std = (0.229, 0.224, 0.225)
        self.grad_clip_max_norm: float | None = None
        self.move_data_to_gpu = True
        # training arithmetic: 'fp32', 'bf16' (forward and loss under torch.autocast) or 'auto'
        # (bf16 where the device computes it natively); see LTRTrainer
        self.amp = "fp32"
        # Framework defaults a settings module may still change through defaults().
        self._framework_defaults = set(vars(self)) - {"env"}
        # field -> the default its overrides are checked against (a module's declaration replaces ours)
        self._declared: dict[str, Any] = {**{k: getattr(self, k) for k in self._framework_defaults}, **OPTIONAL_FIELDS}
        self._module_declared: set[str] = set()
        self._overrides: dict[str, str] = {}  # key -> where it came from ('--set', 'LTR_EXT_SET')
        self._declaring = False
        for key, value in overrides.items():
            self.override(key, value)

    # ----- overrides and declarations -----------------------------------------------------------------
    def owner(self) -> str:
        """``'rts rts_small'``: the train settings these belong to, for messages."""
        return f"{self.module_name} {self.script_name}".strip() or "these train settings"

    def override(self, key: str, value: Any, source: str = "--set") -> None:
        """A user override (``--set``): fixed even if the settings module calls ``defaults``.

        A value of the wrong type for an already declared field raises :class:`OverrideError` here;
        an undeclared key waits for the module's declarations (:meth:`declaring`).
        """
        if key == "env" or key.startswith("_"):
            raise OverrideError(f"{source}: '{key}' is not a setting (environment folders are set with LTR_<NAME>)")
        if key in self._declared:
            check_value(key, value, self._declared[key], owner=self.owner(), source=source)
        if key in CHOICES and value not in CHOICES[key]:
            raise OverrideError(
                f"{source}: setting '{key}' of {self.owner()} takes one of {', '.join(CHOICES[key])}, got {value!r}"
            )
        try:
            setattr(self, key, value)
        except (TypeError, ValueError, RuntimeError) as err:  # a property refusing it: device='gpu7'
            raise OverrideError(f"{source}: setting '{key}' of {self.owner()} cannot be {value!r}: {err}") from None
        self._framework_defaults.discard(key)
        self._overrides[key] = source

    def defaults(self, **values: Any) -> None:
        """Set attributes not set yet: settings modules call this, so ``--set key=value`` wins.

        It also declares the fields: an override of one is checked against its first declared value.
        """
        for key, value in values.items():
            self._declare(key, value)
            if key not in self.__dict__ or key in self._framework_defaults:
                self.__dict__[key] = value
                self._framework_defaults.discard(key)

    def _declare(self, key: str, default: Any) -> None:
        declared = self.__dict__.setdefault("_declared", {})
        module_declared = self.__dict__.setdefault("_module_declared", set())
        if key in module_declared:
            return  # the first declaration is the one in effect
        module_declared.add(key)
        declared[key] = default
        source = self.__dict__.get("_overrides", {}).get(key)
        if source is not None:
            check_value(key, getattr(self, key), default, owner=self.owner(), source=source)

    def check_overrides(self) -> None:
        """Raise :class:`OverrideError` for the first override naming no declared field (closest name suggested)."""
        declared = self.__dict__.get("_declared", {})
        for key, source in self.__dict__.get("_overrides", {}).items():
            check_key(key, declared, owner=self.owner(), source=source)

    @contextmanager
    def declaring(self) -> Iterator[Settings]:
        """Run a settings module's ``run(settings)`` in this: its first use of ``env`` or ``device`` ends its
        declarations, and every override must then name a declared field."""
        self.__dict__["_declaring"] = True
        try:
            yield self
        finally:
            self.__dict__["_declaring"] = False

    def _work_starts(self) -> None:
        if self.__dict__.get("_declaring"):
            self.__dict__["_declaring"] = False  # checked once, and never again from inside the check
            self.check_overrides()

    # ----- what ends the declarations ---------------------------------------------------------------------
    @property
    def env(self) -> EnvironmentSettings:
        """Workspace and dataset folders (LTR's ``settings.env``)."""
        self._work_starts()
        return self.__dict__["env"]

    @env.setter
    def env(self, value: EnvironmentSettings) -> None:
        self.__dict__["env"] = value

    @property
    def device(self) -> torch.device:
        """CUDA when present and allowed, else CPU (``settings.device = ...`` overrides)."""
        self._work_starts()
        if "_device" in self.__dict__:
            return self.__dict__["_device"]
        if self.use_gpu and torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    @device.setter
    def device(self, value: str | torch.device) -> None:
        self.__dict__["_device"] = torch.device(value)

    def to_plain_dict(self) -> dict[str, Any]:
        """Simple values only, so checkpoints stay loadable with ``weights_only=True``."""
        plain: dict[str, Any] = {}
        for key, value in vars(self).items():
            if key == "env":
                # the folders only: where each came from (``sources``) is no setting
                plain["env"] = {k: str(v) for k, v in vars(value).items() if k != "sources"}
            elif key in _BOOKKEEPING:
                continue
            elif isinstance(value, (int, float, str, bool, type(None))):
                plain[key.lstrip("_")] = value
            elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str, bool)) for v in value):
                plain[key] = list(value)
            elif isinstance(value, torch.device):
                plain[key.lstrip("_")] = str(value)
        return plain
