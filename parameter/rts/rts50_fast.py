"""rts50 with precision ``auto``: bf16 backbone, branch-feature convolutions and decoder where the
device computes bf16 natively (AMX / AVX-512 BF16 CPUs, CUDA compute capability >= 8), fp32 elsewhere.

The few-shot learners, encoders and box / mask post-processing stay float32
(``pytracking_ext/trackers/rts/bf16.py``). ``rts50`` stays fp32 for parity with the official tracker.
"""

from parameter.rts import rts50
from pytracking_ext.trackers.params import TrackerParams


def parameters(net_path: str = "rts50.pth") -> TrackerParams:
    params = rts50.parameters(net_path)
    params.net.precision = "auto"
    return params
