"""rts_small plus re-detection (the settings of ``rts50_redetect``)."""

from parameter.rts import rts50_redetect, rts_small
from pytracking_ext.trackers.params import TrackerParams

REDETECT_KEYS = ("redetect", "redetect_after", "redetect_interval", "redetect_threshold", "redetect_max_tiles")


def parameters(net_path: str | None = None) -> TrackerParams:
    params = rts_small.parameters(net_path)
    reference = rts50_redetect.parameters()
    for key in REDETECT_KEYS:
        setattr(params, key, getattr(reference, key))
    return params
