"""OpenCV MIL baseline: boxes only."""

from pytracking_ext.trackers.params import TrackerParams


def parameters() -> TrackerParams:
    return TrackerParams(opencv_tracker="mil", predict_mask=False, debug=0, visualization=False)
