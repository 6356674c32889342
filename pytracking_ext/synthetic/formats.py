"""The registry of synthetic dataset formats: name -> ``writer(out, spec) -> GeneratedDataset``.

Filled only from the entry-point group ``pytracking_ext.synthetic_formats``; the built-in writers
(``formats_sot``, ``formats_vot``, ``formats_vos``) are declared there in ``pyproject.toml`` like a
plugin's, as lazy ``"module:function"`` targets, so listing the formats imports no writer.
"""

from __future__ import annotations

from ..registry import Registry

FORMATS = Registry("synthetic format", "pytracking_ext.synthetic_formats")
