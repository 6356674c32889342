"""The Table 3.2 operating points and the parameter set of each (see the package docs); the leading
``_`` keeps this helper out of the listing of EVS parameter sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytracking_ext.errors import UnknownNameError
from pytracking_ext.trackers.params import TrackerParams
from segmentation_plugins.evs.pipeline import PipelineConfig
from segmentation_plugins.shipped import EVS_ICNET_CAMVID_SMALL, EVS_REFINER_CAMVID_SMALL


@dataclass(frozen=True)
class OperatingPoint:
    downscale: float
    keyframe_interval: int
    warp: bool
    refine: bool
    thesis_miou: float
    thesis_fps: float

    def config(self) -> PipelineConfig:
        """The pipeline settings of this point (the other settings at their defaults)."""
        # S = 1 with W and R (EVS 01): the IAM blends ICNet's output with P warped from t-1 (§9 #13)
        blend = self.keyframe_interval == 1 and self.warp and self.refine
        return PipelineConfig(
            downscale=self.downscale,
            keyframe_interval=self.keyframe_interval,
            warp=self.warp,
            refine=self.refine,
            keyframe_blend="fresh" if blend else "off",
        )


OPERATING_POINTS: dict[str, OperatingPoint] = {
    #                     D    S   W      R      mIoU  Hz
    "evs01": OperatingPoint(1.0, 1, True, True, 67.6, 37),
    "evs02": OperatingPoint(1.0, 2, True, True, 66.8, 49),
    "evs03": OperatingPoint(1.0, 2, True, False, 66.2, 77),
    "evs04": OperatingPoint(1.0, 3, True, True, 65.6, 74),
    "evs05": OperatingPoint(1.0, 3, True, False, 64.7, 115),
    "evs06": OperatingPoint(1.0, 5, True, True, 63.0, 122),
    "evs07": OperatingPoint(1.0, 5, True, False, 62.2, 190),
    "evs08": OperatingPoint(1.0, 5, False, False, 46.4, 192),
    "evs09": OperatingPoint(0.5, 5, False, False, 42.8, 339),
    "evs10": OperatingPoint(1.0, 10, True, False, 56.2, 372),
    "evs11": OperatingPoint(1.0, 10, False, False, 36.7, 387),
    "evs12": OperatingPoint(0.5, 10, True, False, 50.7, 634),
    "evs13": OperatingPoint(0.5, 10, False, False, 35.3, 677),
    "evs14": OperatingPoint(0.5, 17, True, False, 46.0, 1045),
}

# keys of the EVS segmenter that are not pipeline settings (segmentation_plugins/evs/segmenter.py)
SEGMENTER_SETTINGS: dict[str, Any] = dict(
    # networks: the small CamVid ICNet and Refiner shipped with the package (segmentation_plugins/
    # networks/MODELS.md); the thesis' Cityscapes networks: --set icnet_config=standard
    # --set num_classes=19 --set label_set=cityscapes --set icnet_weights=... --set refiner_weights=...
    icnet_config="small",
    num_classes=11,
    label_set="camvid",
    refiner_uses_pwarped=False,  # §5.2 open variant, off
    # weights: checkpoints, absolute or relative to the network_path setting.
    # refiner_weights='from_icnet' starts an untuned Refiner from ICNet's layers (§5.2)
    icnet_weights=str(EVS_ICNET_CAMVID_SMALL),
    refiner_weights=str(EVS_REFINER_CAMVID_SMALL),
    random_weights=False,  # seeded random networks: tests and the speed benchmark only
    seed=0,
    use_gpu=True,  # CUDA when present, else CPU
    # ICNet / Refiner dtype: 'fp32' (parity), 'bf16', 'auto' (bf16 where native); P, L, warps, IAM stay fp32
    precision="fp32",
    cv2_threads=None,  # process-wide thread pools, left alone when None
    torch_threads=None,
)


def operating_point(name: str) -> TrackerParams:
    """Parameters of one Table 3.2 operating point ('evs01' ... 'evs14')."""
    if name not in OPERATING_POINTS:
        raise UnknownNameError(f"unknown EVS operating point '{name}'; known: {', '.join(OPERATING_POINTS)}")
    op = OPERATING_POINTS[name]
    return TrackerParams(
        name=name, thesis_miou=op.thesis_miou, thesis_fps=op.thesis_fps, **op.config().settings(), **SEGMENTER_SETTINGS
    )
