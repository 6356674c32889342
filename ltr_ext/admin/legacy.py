"""Read official LTR checkpoints (full pickles) without their original modules.

They pickle ``ltr.admin.model_constructor.NetConstructor`` (or ``dlframework.*`` aliases), the
whole ``Settings`` object and statistics objects. A restricted unpickler maps the constructor to
ours, replaces every other unknown class with an inert placeholder (``settings``/``stats`` are
then dropped), and refuses anything callable outside a short list of torch/numpy rebuild helpers.
"""
from __future__ import annotations

import pickle
import types
import zipfile
from pathlib import Path
from typing import Any

import torch

from .checkpoint import CheckpointError
from .model_constructor import NetConstructor

_CONSTRUCTOR_NAMES = {("ltr.admin.model_constructor", "NetConstructor"),
                      ("dlframework.admin.model_constructor", "NetConstructor"),
                      ("ltr_ext.admin.model_constructor", "NetConstructor")}
_ALLOWED_PREFIXES = ("torch", "numpy", "collections", "builtins", "_codecs")


class _Placeholder:
    """Stands in for classes of the original code base we do not need (settings, stats)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _LegacyConstructor:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


def _make_unpickler_module():
    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) in _CONSTRUCTOR_NAMES:
                return _LegacyConstructor
            if module.startswith(_ALLOWED_PREFIXES):
                return super().find_class(module, name)
            return _Placeholder

    module = types.ModuleType("legacy_pickle")
    module.Unpickler = Unpickler
    module.load = pickle.load
    return module


def load_legacy_checkpoint(path: Path) -> dict[str, Any]:
    """An official LTR checkpoint as a plain dict (``constructor`` as a dict, no settings/stats)."""
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (truncated or a foreign file)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=False, pickle_module=_make_unpickler_module())
    except Exception as err:
        raise CheckpointError(f"{path}: cannot read checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a checkpoint dict, found {type(data).__name__}")
    data = {k: v for k, v in data.items() if k not in ("settings", "stats")}
    constructor = data.get("constructor")
    if isinstance(constructor, _LegacyConstructor):
        state = vars(constructor)
        data["constructor"] = NetConstructor.from_dict({
            "fun_name": state.get("fun_name"), "fun_module": state.get("fun_module"),
            "args": state.get("args", ()), "kwds": state.get("kwds", {})}).to_dict()
    return data
