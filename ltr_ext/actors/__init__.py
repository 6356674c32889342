"""Actors: ``actor(data) -> (loss, stats)``, holding the network and the objective."""
from .base_actor import BaseActor

__all__ = ["BaseActor"]
