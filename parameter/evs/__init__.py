"""EVS operating points: thesis Table 3.2 (evs01 ... evs14), one shared table.

D: input downscaling of ICNet (and the Refiner); S: key-frame interval (ICNet on every S-th
frame); W: warp the last prediction with the flow (else copy it); R: Refiner + IAM. The thesis's
mIoU (Cityscapes val, %) and throughput (Hz, Titan Xp + i7-5930K) are kept for comparison.

The pipeline keys of a parameter set and their defaults come from
:class:`~segmentation_plugins.evs.pipeline.PipelineConfig` (declared there once, with their docs);
settings the thesis does not give are its docs/evs.md §9 defaults ([D]), the same for every
point. The table (:mod:`._operating_points`) adds only D, S, W, R, the thesis's numbers and the segmenter's
own keys.
"""

from __future__ import annotations

from ._operating_points import OPERATING_POINTS, SEGMENTER_SETTINGS, OperatingPoint, operating_point

__all__ = ["OPERATING_POINTS", "SEGMENTER_SETTINGS", "OperatingPoint", "operating_point"]
