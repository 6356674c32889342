"""Joint augmentations of frames, masks and boxes (numpy in, numpy out), drawn from a seeded RNG.

Each transform draws its random parameters once per call (``roll``) and applies them to every
image, mask and box of that call, so a frame's annotations stay aligned with it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch


@dataclass
class Sample:
    """One frame and its annotations."""

    image: np.ndarray
    box: torch.Tensor
    mask: np.ndarray | None = None


class Transform:
    """Base class: ``roll`` draws parameters, ``apply`` uses them."""

    def roll(self, rng: random.Random) -> Any:
        return None

    def apply(self, sample: Sample, params: Any) -> Sample:
        raise NotImplementedError

    def __call__(self, samples: list[Sample], rng: random.Random, joint: bool = True) -> list[Sample]:
        if joint:
            params = self.roll(rng)
            return [self.apply(s, params) for s in samples]
        return [self.apply(s, self.roll(rng)) for s in samples]


class RandomHorizontalFlip(Transform):
    def __init__(self, probability: float = 0.5) -> None:
        self.probability = probability

    def roll(self, rng: random.Random) -> bool:
        return rng.random() < self.probability

    def apply(self, sample: Sample, flip: bool) -> Sample:
        if not flip:
            return sample
        width = sample.image.shape[1]
        x, y, w, h = sample.box.tolist()
        box = torch.tensor([width - x - w, y, w, h], dtype=torch.float32)
        mask = None if sample.mask is None else np.ascontiguousarray(sample.mask[:, ::-1])
        return Sample(np.ascontiguousarray(sample.image[:, ::-1]), box, mask)


class ToGrayscale(Transform):
    def __init__(self, probability: float = 0.05) -> None:
        self.probability = probability

    def roll(self, rng: random.Random) -> bool:
        return rng.random() < self.probability

    def apply(self, sample: Sample, gray: bool) -> Sample:
        if not gray:
            return sample
        luma = sample.image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return Sample(np.repeat(luma[:, :, None], 3, axis=2).clip(0, 255).astype(np.uint8), sample.box, sample.mask)


class BrightnessJitter(Transform):
    def __init__(self, amount: float = 0.2) -> None:
        self.amount = amount

    def roll(self, rng: random.Random) -> float:
        return rng.uniform(max(0.0, 1 - self.amount), 1 + self.amount)

    def apply(self, sample: Sample, factor: float) -> Sample:
        image = (sample.image.astype(np.float32) * factor).clip(0, 255).astype(np.uint8)
        return Sample(image, sample.box, sample.mask)


class RandomAffine(Transform):
    """Rotation and scaling about the image centre; boxes map through their corners (min/max)."""

    def __init__(self, max_rotation: float = 15.0, max_scale: float = 0.2, border: str = "replicate") -> None:
        self.max_rotation, self.max_scale = max_rotation, max_scale
        self.border = {"replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}[border]

    def roll(self, rng: random.Random) -> tuple[float, float]:
        return rng.uniform(-self.max_rotation, self.max_rotation), float(
            np.exp(rng.uniform(-self.max_scale, self.max_scale))
        )

    def apply(self, sample: Sample, params: tuple[float, float]) -> Sample:
        angle, scale = params
        h, w = sample.image.shape[:2]
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale)
        image = cv2.warpAffine(sample.image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=self.border)
        mask = None
        if sample.mask is not None:
            mask = cv2.warpAffine(
                np.asarray(sample.mask),
                matrix,
                (w, h),
                flags=cv2.INTER_NEAREST,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
        x, y, bw, bh = sample.box.tolist()
        corners = np.array([[x, y, 1], [x + bw - 1, y, 1], [x, y + bh - 1, 1], [x + bw - 1, y + bh - 1, 1]])
        moved = corners @ matrix.T
        x0, y0 = moved.min(axis=0)
        x1, y1 = moved.max(axis=0)
        return Sample(image, torch.tensor([x0, y0, x1 - x0 + 1, y1 - y0 + 1], dtype=torch.float32), mask)


class Compose:
    """Apply transforms in order; ``joint`` shares one roll across all samples of the call."""

    def __init__(self, *transforms: Transform) -> None:
        self.transforms = transforms

    def __call__(self, samples: list[Sample], rng: random.Random, joint: bool = True) -> list[Sample]:
        for transform in self.transforms:
            samples = transform(samples, rng, joint)
        return samples


def to_tensor(image: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...], bgr255: bool = False) -> torch.Tensor:
    """HWC uint8 RGB -> normalised CHW float (``bgr255``: BGR in 0..255 minus mean, as RTS expects)."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float()
    if bgr255:
        tensor = tensor.flip(0)
    else:
        tensor = tensor / 255.0
    return (tensor - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)
