"""pytracking_ext: PyTracking-style evaluation, installable with pip, CPU or GPU.

The public API (docs/api.md) is imported on first use, so ``import pytracking_ext`` stays light
(no torch): ``from pytracking_ext import VideoTracker, track_video``. Segmenters:
``from segmentation_plugins import VideoSegmenter, segment_video``.
"""

__version__ = "0.1.0"

_API = ("VideoTracker", "track_video", "TrackingResult", "ObjectResult")

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'pytracking_ext' has no attribute '{name}'")
