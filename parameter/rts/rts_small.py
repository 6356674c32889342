"""RTS with the small CPU network shipped in this package (``run_training rts rts_small``).

The tracking logic and thresholds are rts50's (docs/rts.md C.1); only the crop follows the small
network's training size (576x320 instead of 832x480) and the weights default to the file shipped
in ``pytracking_ext/networks``. ``parameters(net_path=...)`` takes another rts_small checkpoint
(absolute, or relative to ``network_path``). What the shipped model was trained on and how it
scores: README, "RTS tracker".
"""

from pathlib import Path

import pytracking_ext
from ltr_ext.models.backbone import BACKBONE_INPUT
from parameter.rts import rts50
from pytracking_ext.evaluation.network_loading import NetworkSpec
from pytracking_ext.trackers.params import TrackerParams

SHIPPED = Path(pytracking_ext.__file__).parent / "networks" / "rts_small.safetensors"
BACKBONE = "efficientnet_lite0"
# the crop (w, h) = (576, 320) of the shipped network's last training step, as (h, w); stride 16
# gives 20 x 36 cells. On DAVIS-sized targets the 6x search area is shrunk to the frame, so one
# crop pixel is 1.5 image pixels (3 at the earlier 288x160, too coarse for thin parts and for the
# instance branch's stride-32 map: docs/results.md, "Quality of the shipped small network").
SAMPLE_SIZE = (20 * 16, 36 * 16)


def parameters(net_path: str | None = None) -> TrackerParams:
    params = rts50.parameters()
    params.image_sample_size = SAMPLE_SIZE
    params.clf_image_sample_size = SAMPLE_SIZE
    params.net = NetworkSpec(str(net_path or SHIPPED), constructor=None, **BACKBONE_INPUT[BACKBONE])
    return params
