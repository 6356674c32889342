"""OpenCV MIL baseline that also outputs a mask: the initial mask moved with the tracked box."""

from pytracking_ext.trackers.params import TrackerParams


def parameters() -> TrackerParams:
    return TrackerParams(opencv_tracker="mil", predict_mask=True, debug=0, visualization=False)
