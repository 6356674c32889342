"""rts_small with precision ``auto`` (bf16 islands where the device computes bf16 natively).

``rts_small`` itself stays fp32 for now. Measured (``benchmarks/rts_small_quality.py --trackers
rts:rts_small rts:rts_small_fast``, 2 threads, AVX-512 BF16 CPU): DAVIS clips AUC 57.7 / 57.7,
J&F 67.7 / 67.8; generated benchmark (8 x 50 frames, seed 1234) AUC 48.5 / 48.6, J&F 66.0 / 66.2
(fp32 / this set), i.e. within the issue's 0.3 points; switching rts_small's default is left to a
change that also re-checks the tests that run rts_small.
"""

from parameter.rts import rts_small
from pytracking_ext.trackers.params import TrackerParams


def parameters(net_path: str | None = None) -> TrackerParams:
    params = rts_small.parameters(net_path)
    params.net.precision = "auto"
    return params
