"""What travels between the EVS pipeline's stages: the propagation state, frames, network results."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class PropagationState:
    """What the next frame needs from the last one; never mutated (every output carries its own).

    ``probabilities``: C×h×w CPU float32 at the propagation resolution (channels-last memory, as
    cv2 warps it); ``labels``: h×w uint8; ``features``: the last key frame's low-level features
    warped up to this frame, as H×W×c blocks (warp.to_blocks), only with R; ``gray``: this frame at
    the flow resolution, only with W.
    """

    frames: int
    size: tuple[int, int]
    since_key: int
    probabilities: torch.Tensor
    labels: np.ndarray
    features: list[np.ndarray] | None
    gray: np.ndarray | None


@dataclass
class Frame:
    """A frame inside the pipeline; ``index`` counts from the start of the current stream."""

    index: int
    number: int  # frame index in the video (continues across run() calls)
    image: np.ndarray
    arrival: float
    gray: np.ndarray | None = None
    prev_gray: np.ndarray | None = None
    flow: Future | None = None
    flow_s: float = 0.0


@dataclass
class NetResult:
    """Network output brought to the propagation resolution, on the CPU."""

    probabilities: torch.Tensor
    labels: np.ndarray
    features: list[np.ndarray] | None
    seconds: float
