"""Remember how a network was built, so a checkpoint can rebuild it (LTR's ``model_constructor``)."""
from __future__ import annotations

import functools
import importlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import torch.nn as nn


@dataclass
class NetConstructor:
    """``fun_module.fun_name(*args, **kwds)`` rebuilds the network."""

    fun_name: str
    fun_module: str
    args: tuple = ()
    kwds: dict[str, Any] = field(default_factory=dict)

    def get(self, **overrides: Any) -> nn.Module:
        """Build the network; ``overrides`` replace stored keyword arguments (unknown ones warn)."""
        kwds = dict(self.kwds)
        for name, value in overrides.items():
            if name not in kwds:
                warnings.warn(f"constructor {self.fun_module}.{self.fun_name} has no stored argument '{name}'; "
                              f"passing it anyway")
            kwds[name] = value
        module = importlib.import_module(self.fun_module)
        return getattr(module, self.fun_name)(*self.args, **kwds)

    def to_dict(self) -> dict[str, Any]:
        return {"fun_name": self.fun_name, "fun_module": self.fun_module, "args": list(self.args),
                "kwds": dict(self.kwds)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NetConstructor":
        module = data["fun_module"]
        if module.startswith("dlframework."):
            module = module[len("dlframework."):]
        return cls(data["fun_name"], module, tuple(data.get("args", ())), dict(data.get("kwds", {})))


def model_constructor(function: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorate a network factory so the built module carries ``.constructor``."""

    @functools.wraps(function)
    def build(*args: Any, **kwds: Any) -> nn.Module:
        net = function(*args, **kwds)
        target = net[0] if isinstance(net, (tuple, list)) else net
        target.constructor = NetConstructor(function.__name__, function.__module__, args, kwds)
        return net

    return build
