"""``key=value`` overrides (``--set`` and ``LTR_EXT_SET``): one parser and one checker for every command.

:func:`parse_assignment` reads ``key=value`` with the value as a Python literal when it is one
(``3``, ``1e-3``, ``(96, 64)``, ``'text'``, ``None``) and as plain text otherwise. The checks compare
an override with the field it names, before anything runs:

* the key must be a declared field (:func:`check_key`; the closest name is suggested);
* the value must suit the field's declared default (:func:`check_value`): ``True``/``False`` for a
  bool, an integer for an int, any number for a float, text (or a number used as a name, such as
  ``stage=1``) for a string, a list or tuple for a sequence, anything for a ``None`` default;
* numbers whose default is not negative stay non-negative, and sizes (names ending in ``size`` or
  ``_sz``) are positive and keep the default's number of values. ``None`` switches a sequence off
  (``input_size=None``: the frame's own size).

Errors are :class:`~pytracking_ext.errors.OverrideError`, one line starting with where the
override came from (``--set``, ``LTR_EXT_SET``).
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import OverrideError

_SEQUENCES = (list, tuple)


def parse_assignment(text: str, source: str = "--set") -> tuple[str, Any]:
    """``key=value`` as ``(key, value)``; raises :class:`OverrideError` when it is not of that form."""
    key, sep, raw = text.partition("=")
    if not sep or not key.isidentifier():
        raise OverrideError(f"{source} expects key=value, got '{text}'")
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return key, raw  # not a literal: plain text (``backbone=resnet18``, ``path=/data/x``)


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name`` (a likely typo), or None."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_name_message(name: str, known: Iterable[str], what: str, owner: str) -> str:
    """``unknown setting 'x' for OWNER; did you mean 'y'?`` (or the list of known names)."""
    known = sorted(known)
    where = f" for {owner}" if owner else ""
    guess = closest_name(name, known)
    if guess is not None:
        return f"unknown {what} '{name}'{where}; did you mean '{guess}'?"
    return f"unknown {what} '{name}'{where}; known {what}s: {', '.join(known) or '(none)'}"


def _prefix(source: str) -> str:
    return f"{source}: " if source else ""


def check_key(key: str, known: Iterable[str], *, what: str = "setting", owner: str = "", source: str = "--set") -> None:
    """Raise :class:`OverrideError` unless ``key`` is one of ``known``."""
    known = list(known)
    if key not in known:
        raise OverrideError(_prefix(source) + unknown_name_message(key, known, what, owner))


def is_size(key: str) -> bool:
    """Sizes (``batch_size``, ``input_size``, ``output_sz``) are positive and keep their number of values."""
    return key.endswith(("size", "_sz"))


def _kind(default: Any) -> str:
    if isinstance(default, bool):
        return "True or False"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "text"
    if isinstance(default, _SEQUENCES):
        return "a list or tuple"
    return f"a {type(default).__name__}"


def _scalar_problem(value: Any, default: Any, positive: bool) -> str | None:
    """Why ``value`` cannot replace the scalar ``default`` (None when it can)."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "wrong type"
    if isinstance(default, (int, float)):
        allowed = int if isinstance(default, int) else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            return "wrong type"
        if positive and value <= 0:
            return "must be positive"
        if default >= 0 and value < 0:
            return "must not be negative"
        return None
    if isinstance(default, str):
        # numbers are names too: LMANet's stage=1, a split called 2017
        return None if isinstance(value, (str, int)) and not isinstance(value, bool) else "wrong type"
    if isinstance(default, dict):
        return None if isinstance(value, dict) else "wrong type"
    return None  # another kind of object: nothing to compare a literal with


def value_problem(key: str, value: Any, default: Any) -> str | None:
    """Why ``value`` cannot replace ``default`` of field ``key`` (None when it can), e.g. ``'takes an integer'``."""
    if default is None:
        return None
    size = is_size(key)
    if isinstance(default, _SEQUENCES):
        if value is None:
            return None
        if not isinstance(value, _SEQUENCES):
            return f"takes a list or tuple like {default!r}"
        if size and len(value) != len(default):
            return f"takes {len(default)} values like {default!r}"
        for index, item in enumerate(value):
            reference = default[index] if index < len(default) else default[-1] if default else None
            if reference is not None and _scalar_problem(item, reference, size):
                return f"takes {_kind(reference)} values{' > 0' if size else ''} like {default!r}"
        return None
    problem = _scalar_problem(value, default, size)
    if problem == "wrong type":
        return f"takes {_kind(default)} (default {default!r})"
    if problem is not None:
        return f"{problem} (default {default!r})"
    return None


def check_value(
    key: str, value: Any, default: Any, *, what: str = "setting", owner: str = "", source: str = "--set"
) -> None:
    """Raise :class:`OverrideError` when ``value`` does not suit field ``key`` declared with ``default``."""
    problem = value_problem(key, value, default)
    if problem is not None:
        where = f" of {owner}" if owner else ""
        raise OverrideError(f"{_prefix(source)}{what} '{key}'{where} {problem}, got {value!r}")


def check_overrides(
    assignments: Iterable[tuple[str, Any]],
    fields: Mapping[str, Any],
    *,
    what: str = "setting",
    owner: str = "",
    source: str = "--set",
) -> None:
    """Check every ``(key, value)`` against ``fields`` (name -> declared default), first error raised."""
    for key, value in assignments:
        check_key(key, fields, what=what, owner=owner, source=source)
        check_value(key, value, fields[key], what=what, owner=owner, source=source)
