"""EVS 01 of thesis Table 3.2 (values in parameter/evs/_operating_points.py)."""

from parameter.evs import operating_point
from pytracking_ext.trackers.params import TrackerParams


def parameters() -> TrackerParams:
    return operating_point("evs01")
