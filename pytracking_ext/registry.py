"""Name -> object registries that other installed packages can extend through entry points.

Targets may be given lazily as ``"package.module:attribute"`` strings so that registering a
tracker never imports torch or a network until the tracker is actually used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

from .errors import UnknownNameError


def resolve(target: str) -> Any:
    """Import ``"module:attr"`` (or ``"module"``) and return the object."""
    module_name, _, attr = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


def entry_point_values(group: str) -> list[tuple[str, str]]:
    """``(name, "module:attr")`` of every entry point of ``group`` in every distribution on ``sys.path``.

    Unlike ``metadata.entry_points(group=...)``, a distribution found twice is read twice (first
    one wins per name): a stale ``*.egg-info`` left in the working directory by ``setup.py`` then
    cannot hide the groups of the installed metadata, which would leave the registries empty.
    Nothing is imported.
    """
    return [(ep.name, ep.value) for dist in metadata.distributions() for ep in dist.entry_points if ep.group == group]


class Registry:
    """A named collection of objects (or lazy import strings) of one kind.

    ``entry_point_group`` names the ``importlib.metadata`` group scanned once, on first lookup,
    so an installed plugin appears by name without any code change here. The built-ins are
    declared in ``pyproject.toml`` in the same groups; :meth:`register` (which wins over an entry
    point of the same name) is for tests and for registries without a group.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._items: dict[str, Any] = {}
        self._entry_points_loaded = entry_point_group is None

    def register(self, name: str, target: Any = None) -> Any:
        """Register ``target`` under ``name``; without a target, return a decorator."""
        if target is None:

            def decorator(obj: Any) -> Any:
                self._items[name] = obj
                return obj

            return decorator
        self._items[name] = target
        return target

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for name, value in entry_point_values(self.entry_point_group):
            self._items.setdefault(name, value)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> Any:
        """Return the object registered as ``name``; unknown names list the known ones."""
        self._load_entry_points()
        if name not in self._items:
            known = ", ".join(self.names()) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} '{name}'; known {self.kind}s: {known}")
        item = self._items[name]
        if isinstance(item, str):
            item = resolve(item)
            self._items[name] = item
        return item

    def raw(self, name: str) -> Any:
        """What was registered as ``name`` (an import string stays a string)."""
        if name not in self:
            self.get(name)  # raises the error listing known names
        return self._items[name]

    def items(self) -> Iterator[tuple[str, Any]]:
        for name in self.names():
            yield name, self.get(name)

    def add_all(self, mapping: dict[str, Any]) -> None:
        for name, target in mapping.items():
            self.register(name, target)


def lazy(target: str) -> Callable[[], Any]:
    """A zero-argument callable that imports ``target`` when called."""
    return lambda: resolve(target)
