"""Turn sampled frames into network inputs: jittered search-region crops, masks, boxes, labels."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .processing_utils import box_in_crop, crop_and_resize, crop_rectangle, gaussian_label_function, jitter_box
from .tensordict import TensorDict
from .transforms import Compose, Sample, to_tensor


@dataclass
class SegmentationProcessing:
    """LWL/RTS-style processing in ``'sequence'`` mode (frames stacked per set).

    For each of the ``train`` and ``test`` sets: joint transforms on the full frames, a jittered
    box per frame, a crop of ``search_area_factor^2`` times the box area resized to ``output_sz``
    (w, h) with ``crop_type``, the same crop of the mask, the box in crop coordinates, and
    Gaussian classifier labels at ``label_feature_sz`` when ``label_sigma_factor`` is set.
    """

    output_sz: tuple[int, int]
    search_area_factor: float
    center_jitter_factor: dict[str, Any]
    scale_jitter_factor: dict[str, Any]
    crop_type: str = "inside_major"
    max_scale_change: float | None = None
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    bgr255: bool = False
    joint_transform: Compose | None = None
    # Applied to each crop on its own (independent roll per frame), e.g. brightness jitter.
    frame_transform: Compose | None = None
    label_sigma_factor: float | None = None
    label_kernel_sz: int = 4
    label_feature_sz: tuple[int, int] | None = None
    scale_mode: str = "normal"
    # None: the global ``random`` module, which the trainer seeds per epoch and per worker.
    rng: random.Random | None = None

    def __call__(self, data: dict[str, Any]) -> TensorDict:
        rng = self.rng or random
        out = TensorDict(dataset=data.get("dataset", ""))
        for part in ("train", "test"):
            samples = [
                Sample(img, torch.as_tensor(box, dtype=torch.float32), mask)
                for img, box, mask in zip(data[f"{part}_images"], data[f"{part}_anno"], data[f"{part}_masks"])
            ]
            if self.joint_transform is not None:
                samples = self.joint_transform(samples, rng, joint=True)
            images, masks, boxes = [], [], []
            for sample in samples:
                jittered = jitter_box(
                    sample.box, self.center_jitter_factor[part], self.scale_jitter_factor[part], self.scale_mode, rng
                )
                rect = crop_rectangle(
                    jittered.tolist(),
                    sample.image.shape[:2],
                    self.search_area_factor,
                    self.output_sz,
                    self.crop_type,
                    self.max_scale_change,
                )
                mask = sample.mask if sample.mask is not None else np.zeros(sample.image.shape[:2], np.float32)
                crop = Sample(
                    crop_and_resize(sample.image, rect, self.output_sz),
                    box_in_crop(sample.box.tolist(), rect, self.output_sz),
                    crop_and_resize(np.asarray(mask, np.float32), rect, self.output_sz, is_mask=True),
                )
                if self.frame_transform is not None:
                    (crop,) = self.frame_transform([crop], rng, joint=False)
                images.append(to_tensor(crop.image, self.mean, self.std, self.bgr255))
                masks.append(torch.from_numpy(np.ascontiguousarray(crop.mask)))
                boxes.append(crop.box)
            out[f"{part}_images"] = torch.stack(images)
            out[f"{part}_masks"] = torch.stack(masks)
            out[f"{part}_anno"] = torch.stack(boxes)
            if self.label_sigma_factor is not None:
                out[f"{part}_label"] = gaussian_label_function(
                    out[f"{part}_anno"],
                    self.label_sigma_factor,
                    self.label_kernel_sz,
                    self.label_feature_sz,
                    self.output_sz,
                )
        return out
