"""Remember how a network was built, so a checkpoint can rebuild it (LTR's ``model_constructor``).

A checkpoint's ``constructor`` record names a function as ``fun_module`` + ``fun_name``. That name
is looked up in :data:`NETWORK_CONSTRUCTORS` and nowhere else: a record never imports a module or
calls a function that this package or an installed plugin did not register (docs/security.md).
Functions decorated with :func:`model_constructor` register themselves; built-in ones and plugins'
are also declared in the entry-point group ``ltr_ext.network_constructors`` (named by their full
name), so a file can be loaded before the module that defines its constructor was imported.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn

from pytracking_ext.errors import UnknownNameError
from pytracking_ext.registry import Registry

#: full name (``module.function``) -> network factory; official LTR names are registered as aliases
NETWORK_CONSTRUCTORS = Registry("network constructor", "ltr_ext.network_constructors")


class ConstructorRecordError(ValueError):
    """A ``constructor`` record is malformed or names no registered constructor (one line)."""


def full_name(fun_module: str, fun_name: str) -> str:
    return f"{fun_module}.{fun_name}"


@dataclass
class NetConstructor:
    """``fun_module.fun_name(*args, **kwds)`` rebuilds the network, if that name is registered."""

    fun_name: str
    fun_module: str
    args: tuple = ()
    kwds: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return full_name(self.fun_module, self.fun_name)

    def factory(self) -> Callable[..., nn.Module]:
        """The registered function this record names; an unregistered name is an error, never an import."""
        try:
            return NETWORK_CONSTRUCTORS.get(self.name)
        except UnknownNameError as err:
            raise ConstructorRecordError(str(err)) from None

    def get(self, **overrides: Any) -> nn.Module:
        """Build the network; ``overrides`` replace stored keyword arguments (unknown ones warn)."""
        build = self.factory()
        kwds = dict(self.kwds)
        for name, value in overrides.items():
            if name not in kwds:
                warnings.warn(
                    f"constructor {self.name} has no stored argument '{name}'; passing it anyway", stacklevel=2
                )
            kwds[name] = value
        return build(*self.args, **kwds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fun_name": self.fun_name,
            "fun_module": self.fun_module,
            "args": list(self.args),
            "kwds": dict(self.kwds),
        }

    @classmethod
    def from_dict(cls, data: Any) -> NetConstructor:
        """A record read from a file, its types checked (``dlframework.`` is LTR's older package name)."""
        if not isinstance(data, dict):
            raise ConstructorRecordError(f"constructor record is a {type(data).__name__}, not a dict")
        module, name = data.get("fun_module"), data.get("fun_name")
        args, kwds = data.get("args", ()), data.get("kwds", {})
        if not isinstance(module, str) or not isinstance(name, str):
            raise ConstructorRecordError("constructor record needs the strings 'fun_module' and 'fun_name'")
        if (
            not isinstance(args, (list, tuple))
            or not isinstance(kwds, dict)
            or not all(isinstance(k, str) for k in kwds)
        ):
            raise ConstructorRecordError(
                f"constructor record of {module}.{name}: 'args' must be a list and 'kwds' a dict with string keys"
            )
        if module.startswith("dlframework."):
            module = module[len("dlframework.") :]
        return cls(name, module, tuple(args), dict(kwds))


def model_constructor(function: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorate a network factory so the built module carries ``.constructor`` and its name is registered."""

    @functools.wraps(function)
    def build(*args: Any, **kwds: Any) -> nn.Module:
        net = function(*args, **kwds)
        target = net[0] if isinstance(net, (tuple, list)) else net
        target.constructor = NetConstructor(function.__name__, function.__module__, args, kwds)
        return net

    NETWORK_CONSTRUCTORS.register(full_name(function.__module__, function.__name__), build)
    return build
