"""Load a script that is not part of a package (a benchmark, the fixtures' ``synth_weights.py``) as a module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_script(path: Path, name: str | None = None) -> ModuleType:
    """Execute ``path`` as module ``name`` (default: the file's stem), registered in ``sys.modules``
    so that dataclasses and pickling can look the module up."""
    spec = importlib.util.spec_from_file_location(name or Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
