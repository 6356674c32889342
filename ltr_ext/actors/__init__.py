"""Actors: ``actor(data) -> (loss, stats)``, holding the network and the objective."""
from .base_actor import BaseActor
from .evs_actors import ICNetActor, RefinerActor
from .rts_actor import RTSActor, RTSLossWeights
from .segmentation_actor import ClipSegmentationActor

__all__ = ["BaseActor", "ClipSegmentationActor", "ICNetActor", "RefinerActor", "RTSActor", "RTSLossWeights"]
