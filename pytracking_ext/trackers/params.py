"""``TrackerParams``: PyTracking's attribute bag for parameter modules."""

from __future__ import annotations

from typing import Any


class TrackerParams:
    """Plain attribute container with PyTracking's three helpers."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def set_default_values(self, defaults: dict[str, Any]) -> None:
        """Set only the attributes that are not present yet."""
        for name, value in defaults.items():
            if not hasattr(self, name):
                setattr(self, name, value)

    def get(self, name: str, *default: Any) -> Any:
        """``params.get('x')`` raises if missing; ``params.get('x', 1)`` returns the default."""
        if len(default) > 1:
            raise ValueError("TrackerParams.get takes at most one default value")
        if not default:
            return getattr(self, name)
        return getattr(self, name, default[0])

    def has(self, name: str) -> bool:
        return hasattr(self, name)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in sorted(self.__dict__.items()) if not k.startswith("_"))
        return f"TrackerParams({body})"
