"""The local web page for tracking your own video (``python -m pytracking_ext.app``, docs/app.md)."""

from .media import VideoInputError, open_video
from .session import PickedObject, Selection
from .tracking import FrameResult, JobResult, run_tracking_job, track_video

__all__ = [
    "FrameResult",
    "JobResult",
    "PickedObject",
    "Selection",
    "VideoInputError",
    "open_video",
    "run_tracking_job",
    "track_video",
]
