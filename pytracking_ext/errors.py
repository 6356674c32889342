"""Exceptions with one-line messages that name the file, setting or argument at fault."""


class PytrackingError(Exception):
    """Base class of every error this package raises on purpose."""


class SettingsError(PytrackingError):
    """A setting is missing or invalid (the message names the setting and its variable)."""


class UnknownNameError(PytrackingError, KeyError):
    """A tracker, parameter, dataset or settings name is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DatasetError(PytrackingError):
    """A dataset folder or annotation file is missing or malformed."""


class ImageReadError(PytrackingError):
    """An image file is missing, unreadable or of an unsupported kind."""


class ResultsError(PytrackingError):
    """A results file is missing, truncated or malformed."""


class TrackerInputError(PytrackingError):
    """The tracker was given invalid input (init box outside the image, wrong mask shape...)."""


class OverrideError(SettingsError):
    """A ``key=value`` override (``--set``, ``LTR_EXT_SET``) names no field or has a value the field cannot take."""
