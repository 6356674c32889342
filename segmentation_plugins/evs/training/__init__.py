"""EVS training: actors, presets, Refiner samples and the shared recipe parts; ``train_settings`` is the
``run_training evs`` package (icnet, refiner)."""

from .actors import ICNetActor, PropagationSettings, RefinerActor, icnet_input, weighted_cascade
from .flow_clips import FEATURE_STRIDE, FlowClips
from .icnet_weights import build_icnet, icnet_checkpoint, icnet_project_path, load_icnet
from .presets import COMMON_DEFAULTS, PRESETS, apply_preset
from .recipe import CLASS_WEIGHTINGS, OPTIMIZERS, SCHEDULES, class_weights, fork_safe_opencv, loaders, optimisation

__all__ = [
    "CLASS_WEIGHTINGS",
    "COMMON_DEFAULTS",
    "FEATURE_STRIDE",
    "FlowClips",
    "ICNetActor",
    "OPTIMIZERS",
    "PRESETS",
    "PropagationSettings",
    "RefinerActor",
    "SCHEDULES",
    "apply_preset",
    "build_icnet",
    "class_weights",
    "fork_safe_opencv",
    "icnet_checkpoint",
    "icnet_input",
    "icnet_project_path",
    "load_icnet",
    "loaders",
    "optimisation",
    "weighted_cascade",
]
