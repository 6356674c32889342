"""The EVS video pipeline: key-frame ICNet, CPU flow and warps, Refiner + IAM, run concurrently.

Modules: config.py (:class:`PipelineConfig`, every pipeline setting declared once), algorithm.py
(the per-frame steps), serial.py and threaded.py (the two runtimes), runner.py
(:class:`EVSPipeline`), state.py, stats.py, upsampling.py, keyframe_blend.py (the EVS 01 readings),
errors.py.
"""

from .algorithm import Backend, FrameAlgorithm
from .config import GROUPS, PipelineConfig, settings_class
from .errors import EVSPipelineClosed
from .runner import EVSPipeline
from .state import PropagationState
from .stats import RunStats
from .upsampling import OUTPUT_UPSAMPLING

__all__ = [
    "Backend",
    "EVSPipeline",
    "EVSPipelineClosed",
    "FrameAlgorithm",
    "GROUPS",
    "OUTPUT_UPSAMPLING",
    "PipelineConfig",
    "PropagationState",
    "RunStats",
    "settings_class",
]
