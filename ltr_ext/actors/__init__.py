"""Actors: ``actor(data) -> (loss, stats)``, holding the network and the objective.

Method plugins keep their own actors next to their recipes, in their own packages.
"""

from .base_actor import BaseActor
from .rts_actor import RTSActor, RTSLossWeights
from .segmentation_actor import ClipSegmentationActor

__all__ = ["BaseActor", "ClipSegmentationActor", "RTSActor", "RTSLossWeights"]
