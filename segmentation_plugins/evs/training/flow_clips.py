"""Refiner training samples: clip tensors plus the DIS flow of each consecutive pair, on two grids."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..flow import FLOW_METHODS, FlowEstimator
from ..warp import resize_flow

FEATURE_STRIDE = 16  # ICNet's low-level features are at 1/16 of its input


class FlowClips(Dataset):
    """Clip tensors (``frames`` ``L x 3 x H x W`` in [0, 1], ``label``) plus the forward DIS flow of each
    consecutive pair, resized to the propagation grid (``flow_p``, ``(L-1) x h x w x 2``, 1/``stride``)
    and to ICNet's feature grid (``flow_f``, 1/16): what ``Warper.flow_at`` would compute from it.
    """

    def __init__(
        self, clips: Dataset, flow_method: str = "dis", flow_scale: float = 1.0, propagation_stride: int = 4
    ) -> None:
        FLOW_METHODS.get(flow_method)  # an unknown method fails here, not in a worker
        self.clips, self.flow_method, self.flow_scale = clips, flow_method, float(flow_scale)
        self.propagation_stride = int(propagation_stride)
        self._estimator = None  # cv2 objects do not pickle: made in the process that reads

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_estimator": None}

    def __len__(self) -> int:
        return len(self.clips)

    def _flow_estimator(self) -> FlowEstimator:
        if self._estimator is None:
            # no cv2.setNumThreads here: in a forked worker it can hang (see recipe.fork_safe_opencv)
            self._estimator = FlowEstimator(self.flow_method, self.flow_scale)
        return self._estimator

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.clips[index]
        frames = sample["frames"]
        # frames are uint8 / 255, so this restores the exact RGB bytes the pipeline would see
        rgb = (frames * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        estimator = self._flow_estimator()
        grays = [estimator.prepare(cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY)) for f in rgb]
        flows = [estimator.flow(a, b) for a, b in zip(grays, grays[1:])]
        height, width = frames.shape[-2:]
        grids = {"flow_p": self.propagation_stride, "flow_f": FEATURE_STRIDE}
        for key, stride in grids.items():
            size = (-(-height // stride), -(-width // stride))
            sample[key] = torch.from_numpy(np.stack([resize_flow(f, size) for f in flows]))
        return sample
