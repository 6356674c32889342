"""RTS with the small CPU network shipped in this package (``run_training rts rts_small``).

The tracking logic and thresholds are rts50's (docs/rts.md C.1); only the crop follows the small
network's training size (288x160 instead of 832x480) and the weights default to the file shipped
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
# the training crop (w, h) = (288, 160), as (h, w); stride 16 gives 10 x 18 cells
SAMPLE_SIZE = (10 * 16, 18 * 16)


def parameters(net_path: str | None = None) -> TrackerParams:
    params = rts50.parameters()
    params.image_sample_size = SAMPLE_SIZE
    params.clf_image_sample_size = SAMPLE_SIZE
    params.net = NetworkSpec(str(net_path or SHIPPED), constructor=None, **BACKBONE_INPUT[BACKBONE])
    return params
