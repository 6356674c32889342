"""LMANet training: presets and the staged recipe; ``train_settings`` is the ``run_training lmanet`` package.

The clip data it shares with EVS lives in :mod:`segmentation_plugins.training`.
"""

from .presets import COMMON, PRESETS, STAGES
from .recipe import build_network, frozen_parts, project_path, run_preset, variant

__all__ = ["COMMON", "PRESETS", "STAGES", "build_network", "frozen_parts", "project_path", "run_preset", "variant"]
