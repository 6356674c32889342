"""The ``trackers.ini`` entry that lets the VOT toolkit start our TraX server."""

from __future__ import annotations

import re
import shlex
import sys

from ..trackers import get_parameters, get_tracker_class

#: Identifiers the VOT toolkit accepts as tracker section names.
_VALID_IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]+$")
#: Seconds the toolkit waits for a reply; generous because the first frame may load networks.
DEFAULT_TIMEOUT = 300


def serve_command(tracker: str, param: str, multiobject: bool = False, python: str | None = None) -> str:
    """Shell-quoted command running ``python -m pytracking_ext.vot serve TRACKER PARAM``."""
    args = [python or sys.executable, "-m", "pytracking_ext.vot", "serve", tracker, param]
    if multiobject:
        args.append("--multiobject")
    return shlex.join(args)


def trackers_ini_entry(
    tracker: str,
    param: str,
    label: str | None = None,
    identifier: str | None = None,
    multiobject: bool = False,
    timeout: int = DEFAULT_TIMEOUT,
    python: str | None = None,
) -> str:
    """A ``trackers.ini`` section (protocol ``trax``) for ``tracker``/``param``.

    It holds no path into this checkout: the current interpreter runs the installed package, so
    the entry works from any workspace folder. Unknown tracker or parameter names raise here.
    """
    get_tracker_class(tracker)
    get_parameters(tracker, param)
    identifier = identifier or f"{tracker}_{param}"
    if not _VALID_IDENTIFIER.match(identifier):
        raise ValueError(f"tracker identifier '{identifier}' may only contain letters, digits, '_' and '-'")
    lines = [
        f"[{identifier}]",
        f"label = {label or identifier}",
        "protocol = trax",
        f"command = {serve_command(tracker, param, multiobject, python)}",
        f"timeout = {int(timeout)}",
    ]
    return "\n".join(lines) + "\n"
