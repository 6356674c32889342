"""rts50 plus re-detection: while both branches are lost, search the whole frame with the
instance model and jump to a confident detection (not in the release; see trackers/rts/redetection.py)."""

from parameter.rts import rts50
from pytracking_ext.trackers.params import TrackerParams


def parameters(net_path: str = "rts50.pth") -> TrackerParams:
    params = rts50.parameters(net_path)
    params.redetect = True
    params.redetect_after = 3  # consecutive both-lost frames before the first frame-wide search
    params.redetect_interval = 2  # then every other frame (a search costs up to 16 backbone passes)
    params.redetect_threshold = 0.5  # above the not-found threshold 0.3: a jump needs a clear peak
    params.redetect_max_tiles = 16
    return params
