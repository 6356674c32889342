"""How one evaluation dataset key is loaded: :class:`DatasetSpec`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..evaluation.data import SequenceList
from ..registry import resolve


@dataclass(frozen=True)
class DatasetSpec:
    """How to load one dataset key."""

    loader: str | Callable[..., SequenceList]
    root_setting: str | None
    kwargs: dict[str, Any] = field(default_factory=dict)
    attribute_file: str | None = None
    # Attribute files key UAV123 sequences without the 'uav_' prefix of the sequence names.
    attribute_prefix: str = ""

    def load_function(self) -> Callable[..., SequenceList]:
        """The loader, imported on first use when it was given as ``"module:function"``."""
        return resolve(self.loader) if isinstance(self.loader, str) else self.loader
