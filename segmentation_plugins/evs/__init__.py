"""EVS plugin (thesis ch. 3): key-frame ICNet, DIS flow on the CPU, warping of labels /
probabilities / low-level features, the Refiner and the Inconsistencies Attention Module.

Specification: docs/evs.md (§3-6, §10) and docs/evs_cpu.md.
"""

from .errors import EVSConfigError, EVSInputError
from .flow import FLOW_METHODS, FlowEstimator, create_flow_method, to_gray
from .iam import (
    IAMResult,
    InconsistencyAttention,
    blend,
    forward_backward_labels,
    inconsistency_map,
    inconsistent_fraction,
    soften_mask,
)
from .models import ICNet, ICNetConfig, ICNetOutput, Refiner, build_icnet, build_refiner, prepare_image
from .warp import IGNORE_LABEL, Warper, from_blocks, resize_flow, to_blocks, warp_labels, warp_tensor

__all__ = [
    "EVSConfigError",
    "EVSInputError",
    "FLOW_METHODS",
    "FlowEstimator",
    "IAMResult",
    "ICNet",
    "ICNetConfig",
    "ICNetOutput",
    "IGNORE_LABEL",
    "Refiner",
    "build_icnet",
    "build_refiner",
    "prepare_image",
    "InconsistencyAttention",
    "Warper",
    "blend",
    "create_flow_method",
    "forward_backward_labels",
    "from_blocks",
    "inconsistency_map",
    "inconsistent_fraction",
    "resize_flow",
    "soften_mask",
    "to_blocks",
    "to_gray",
    "warp_labels",
    "warp_tensor",
]
