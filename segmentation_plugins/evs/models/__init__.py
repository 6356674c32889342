"""EVS networks: ICNet (key frames) and the Refiner (ICNet's high-level part on warped features)."""

from .blocks import ICNetConfig
from .icnet import (
    CASCADE_WEIGHTS,
    ICNET_CONFIGS,
    IMAGE_MEAN_BGR,
    ICNet,
    ICNetOutput,
    build_icnet,
    cascade_loss,
    prepare_image,
)
from .refiner import Refiner, build_refiner

__all__ = [
    "CASCADE_WEIGHTS",
    "ICNET_CONFIGS",
    "IMAGE_MEAN_BGR",
    "ICNet",
    "ICNetConfig",
    "ICNetOutput",
    "Refiner",
    "build_icnet",
    "build_refiner",
    "cascade_loss",
    "prepare_image",
]
