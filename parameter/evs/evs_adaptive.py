"""Adaptive key frames (thesis future work, ours): EVS 10 (D 1.0, W, no R) with ICNet forced on a frame
whose eq. 3.3 inconsistent fraction exceeds 5 %, and at most every 10 frames otherwise.

The thesis measured < 1 % inconsistent pixels per frame-to-frame step and < 5 % after four chained
steps on Cityscapes (Fig. 3.7), so 5 % in one step flags a scene cut, a fast pan or a large
occlusion. The threshold is not tuned on data yet.
"""

from parameter.evs import operating_point
from pytracking_ext.trackers.params import TrackerParams


def parameters() -> TrackerParams:
    params = operating_point("evs10")
    params.name = "evs_adaptive"
    params.adaptive_threshold = 0.05
    params.thesis_miou = None  # not in the thesis
    params.thesis_fps = None
    return params
