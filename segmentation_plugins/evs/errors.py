"""One-line errors of the EVS plugin."""

from pytracking_ext.errors import PytrackingError


class EVSConfigError(PytrackingError):
    """An EVS setting (network size, kernel size, interpolation, border mode...) is invalid."""


class EVSInputError(PytrackingError):
    """An array or tensor given to the EVS flow, warp or IAM code has the wrong shape or type."""
