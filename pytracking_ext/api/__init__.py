"""The public Python API: trackers on streams of frames (docs/api.md; segmenters: ``segmentation_plugins.api``)."""

from .frames import check_frame, iter_frames
from .results import DEFAULT_PRESENCE_THRESHOLD, ObjectResult, TrackingResult
from .tracker import VideoTracker
from .video import track_video

__all__ = [
    "DEFAULT_PRESENCE_THRESHOLD",
    "ObjectResult",
    "TrackingResult",
    "VideoTracker",
    "check_frame",
    "iter_frames",
    "track_video",
]
