"""The error a stream of the EVS pipeline raises when it was stopped from outside."""

from __future__ import annotations

from pytracking_ext.errors import PytrackingError


class EVSPipelineClosed(PytrackingError):
    """The pipeline was closed, reset or restarted while a stream was still being read."""
