"""Actors: ``actor(data) -> (loss, stats)``, holding the network and the objective."""
from .base_actor import BaseActor
from .rts_actor import RTSActor, RTSLossWeights

__all__ = ["BaseActor", "RTSActor", "RTSLossWeights"]
