"""pytracking_ext: PyTracking-style evaluation, installable with pip, CPU or GPU."""

__version__ = "0.1.0"
