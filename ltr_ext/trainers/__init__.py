"""Trainers: the epoch loop shared by RTS, LMANet and EVS training."""

from .ltr_trainer import LTRTrainer, TrainingDiverged, seed_everything, worker_init_fn

__all__ = ["LTRTrainer", "TrainingDiverged", "seed_everything", "worker_init_fn"]
