"""EVS operating points: thesis Table 3.2 (evs01 ... evs14), one shared table.

D: input downscaling of ICNet (and the Refiner); S: key-frame interval (ICNet on every S-th
frame); W: warp the last prediction with the flow (else copy it); R: Refiner + IAM. The thesis's
mIoU (Cityscapes val, %) and throughput (Hz, Titan Xp + i7-5930K) are kept for comparison.

Settings the thesis does not give are evs_reference §9 defaults ([D]), the same for every point.
"""
from __future__ import annotations

from dataclasses import dataclass

from pytracking_ext.errors import UnknownNameError
from pytracking_ext.trackers.params import TrackerParams


@dataclass(frozen=True)
class OperatingPoint:
    downscale: float
    keyframe_interval: int
    warp: bool
    refine: bool
    thesis_miou: float
    thesis_fps: float


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


def operating_point(name: str) -> TrackerParams:
    """Parameters of one Table 3.2 operating point ('evs01' ... 'evs14')."""
    if name not in OPERATING_POINTS:
        raise UnknownNameError(f"unknown EVS operating point '{name}'; known: {', '.join(OPERATING_POINTS)}")
    op = OPERATING_POINTS[name]
    return TrackerParams(
        name=name,
        downscale=op.downscale,
        keyframe_interval=op.keyframe_interval,
        warp=op.warp,
        refine=op.refine,
        thesis_miou=op.thesis_miou,
        thesis_fps=op.thesis_fps,
        # networks
        icnet_config="standard",
        num_classes=19,
        ignore_label=255,
        refiner_uses_pwarped=False,  # §5.2 open variant, off
        refine_every="last",  # Refiner once per cycle, on the scored frame (§2.3 [D]); or 'first', 'all'
        # flow: DIS with the thesis setting (= ULTRAFAST) on full-resolution gray frames
        flow_method="dis",
        flow_scale=1.0,
        # propagation: P and L at 1/4 of the full frame (512×256), F at 1/16 of the net input
        propagation_stride=4,
        warp_interpolation="nearest",  # eq. 3.2, for P and F; labels are always nearest
        label_border="replicate",  # propagated labels never hold 255; the IAM check uses 255 regardless
        probability_border="constant",  # 0 outside the frame; the IAM marks those pixels inconsistent
        feature_border="constant",
        # IAM (§3, §9 #4-5)
        iam_dilation=7,
        iam_smoothing=7,
        iam_smoothing_mode="box",
        # S = 1 with W and R (EVS 01): the IAM blends ICNet's output with P warped from t-1 (§9 #13)
        keyframe_blend=op.keyframe_interval == 1 and op.warp and op.refine,
        # adaptive key frames (thesis future work; parameter/evs/evs_adaptive.py): off
        adaptive_threshold=None,
        # weights: checkpoints, absolute or relative to the network_path setting; none ship with the
        # package. refiner_weights='from_icnet' starts an untuned Refiner from ICNet's layers (§5.2)
        icnet_weights=None,
        refiner_weights=None,
        random_weights=False,  # seeded random networks: tests and the speed benchmark only
        seed=0,
        use_gpu=True,  # CUDA when present, else CPU
        # pipeline (segmentation_plugins/evs/pipeline.py)
        threaded=True,  # False: every step in the caller's thread (reference results, serial timings)
        flow_threads=1,  # flow worker threads (the flow of frame t needs only t-1 and t, so it runs ahead)
        queue_size=None,  # frames in flight; None: max(4, S + 2), so ICNet of the next key frame overlaps a cycle
        output_upsampling="nearest",  # labels to the frame size; 'bilinear': P bilinear + argmax (§2.5)
        cv2_threads=None,  # process-wide thread pools, left alone when None
        torch_threads=None,
    )
