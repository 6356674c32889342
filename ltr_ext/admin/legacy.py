"""Read official LTR checkpoints (full pickles) without their original modules, and without running code.

An LTR training checkpoint pickles, besides tensors, a ``NetConstructor`` record, the whole
``Settings`` object (with its environment settings) and the statistics meters. Those few classes
are listed below by exact full name (:data:`LEGACY_GLOBALS`) and mapped to inert stand-ins; they
are loaded by PyTorch's ``weights_only`` unpickler, which refuses every other global. No module of
a file's choosing is ever imported and no callable of its choosing is ever called (docs/security.md).
"""

from __future__ import annotations

from typing import Any

from .model_constructor import NetConstructor


class _Inert:
    """Stands in for a class of the original code base whose content we drop (settings, statistics).

    Creating one or setting its state never runs anything: arguments are ignored, state is kept as data.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> _Inert:
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _LegacyConstructor(_Inert):
    """An official ``NetConstructor``: its attributes are read back as plain data."""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


# Exactly the non-torch globals an official LTR/PyTracking checkpoint holds (docs/security.md). The
# ``dlframework.`` names are the same classes under the code base's older package name. numpy
# scalars appear in the statistics meters; they become inert too, as statistics are dropped.
_LTR_CLASSES = (
    "admin.settings.Settings",
    "admin.local.EnvironmentSettings",
    "admin.stats.AverageMeter",
    "admin.stats.StatValue",
)
LEGACY_GLOBALS: dict[str, type] = {
    **{f"{package}.admin.model_constructor.NetConstructor": _LegacyConstructor for package in ("ltr", "dlframework")},
    **{f"{package}.{name}": _Inert for package in ("ltr", "dlframework") for name in _LTR_CLASSES},
    **{f"{numpy}.multiarray.scalar": _Inert for numpy in ("numpy.core", "numpy._core")},
    "numpy.dtype": _Inert,
}


def legacy_safe_globals() -> list[tuple[type, str]]:
    """``(stand-in, full name)`` pairs for :func:`torch.serialization.safe_globals`."""
    return [(stand_in, name) for name, stand_in in LEGACY_GLOBALS.items()]


def _holds_stand_in(value: Any) -> bool:
    if isinstance(value, _Inert):
        return True
    if isinstance(value, dict):
        return any(_holds_stand_in(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_stand_in(item) for item in value)
    return False


def plain_legacy_checkpoint(data: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint as plain data: the constructor record as a dict, and every other field that holds
    a stand-in of the original code base (an official file's ``settings`` and ``stats``) dropped."""
    constructor = data.get("constructor")
    data = {key: value for key, value in data.items() if key == "constructor" or not _holds_stand_in(value)}
    if isinstance(constructor, _LegacyConstructor):
        state = vars(constructor)
        data["constructor"] = NetConstructor.from_dict(
            {
                "fun_name": state.get("fun_name"),
                "fun_module": state.get("fun_module"),
                "args": state.get("args", ()),
                "kwds": state.get("kwds", {}),
            }
        ).to_dict()
    return data
