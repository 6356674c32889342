"""A package's public names imported on first use, so that importing one light submodule of the
package does not import the heavy ones (torch) next to it."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for package ``package``.

    ``exports`` maps a submodule name (relative to ``package``) to the names it provides; each name
    is imported from its submodule on first access and then cached in the package's namespace.
    """
    module_of = {name: module for module, names in exports.items() for name in names}
    public = sorted(module_of)

    def __getattr__(name: str) -> Any:
        if name not in module_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module_of[name]}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(public))

    return __getattr__, __dir__, public
