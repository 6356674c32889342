"""``TensorDict`` and ``TensorList``: containers that move and map their tensors together."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch


def _apply(value: Any, fn: Callable[[torch.Tensor], Any]) -> Any:
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, TensorDict):
        return value.apply(fn)
    if isinstance(value, TensorList):
        return value.apply(fn)
    return value


class TensorDict(OrderedDict):
    """An ordered dict whose tensors (also nested) move with ``.to()`` and map with ``.apply()``."""

    def apply(self, fn: Callable[[torch.Tensor], Any]) -> TensorDict:
        return TensorDict((k, _apply(v, fn)) for k, v in self.items())

    def to(self, *args: Any, **kwargs: Any) -> TensorDict:
        return self.apply(lambda t: t.to(*args, **kwargs))

    def copy(self) -> TensorDict:
        return TensorDict(self)


class TensorList(list):
    """A list of tensors with element-wise ``.apply()`` and ``.to()``."""

    def apply(self, fn: Callable[[torch.Tensor], Any]) -> TensorList:
        return TensorList(_apply(v, fn) for v in self)

    def to(self, *args: Any, **kwargs: Any) -> TensorList:
        return self.apply(lambda t: t.to(*args, **kwargs))
