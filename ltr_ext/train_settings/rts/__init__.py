"""RTS train settings: ``run_training rts rts50`` / ``rts_small``; their shared pieces are in ``_recipe.py``."""

from ._recipe import (
    BACKBONE_STRIDE_CLF,
    CENTER_JITTER,
    LWL_PARTS,
    SCALE_JITTER,
    InputFormat,
    load_lwl_parts,
    loaders,
    parameter_groups,
    processing,
    train,
)

__all__ = [
    "BACKBONE_STRIDE_CLF",
    "CENTER_JITTER",
    "LWL_PARTS",
    "SCALE_JITTER",
    "InputFormat",
    "load_lwl_parts",
    "loaders",
    "parameter_groups",
    "processing",
    "train",
]
