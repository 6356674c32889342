"""rts_small at twice the crop resolution: 576x320 crops instead of 288x160, same network.

On DAVIS-sized targets the 6x search area covers the whole frame, so at 288x160 one crop pixel is
three image pixels and anything thinner than a few pixels (kite lines, spokes, legs) cannot be
segmented (``benchmarks/thin_structure_ceiling.py``). At 576x320 one crop pixel is 1.5 image
pixels and the instance branch's stride-32 score map grows from 5x9 to 10x18 cells, enough for its
peaks to reach t_sc (it finds the target on about 4 frames in 5 instead of almost none). It has
four times the pixels per crop: 8.1 frames/s against 16.0 on 2 threads (DAVIS clips). Measured
against ``rts_small`` in docs/results.md ("Quality of the shipped small network"): better masks
with a mask init, worse with a box init.
"""

from parameter.rts import rts_small
from pytracking_ext.trackers.params import TrackerParams

# (h, w): twice rts_small's crop; stride 16 gives 20 x 36 cells
SAMPLE_SIZE = (20 * 16, 36 * 16)


def parameters(net_path: str | None = None) -> TrackerParams:
    params = rts_small.parameters(net_path)
    params.image_sample_size = SAMPLE_SIZE
    params.clf_image_sample_size = SAMPLE_SIZE
    return params
