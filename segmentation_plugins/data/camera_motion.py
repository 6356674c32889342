"""Pseudo-video clips with camera-like motion, built from single labelled frames (issue 19).

CamVid train is labelled at 1 Hz: its consecutive labelled frames lie 30 video frames apart, so
LMANet's memory (S past frames read through a local 21 x 21 window at stride 16, docs/lmanet.md
§2) never sees the small frame-to-frame motion it is built for. :class:`CameraMotionClips` turns
each labelled frame into an L-frame clip filmed by a moving camera: a slow forward zoom, a small
pan and tilt and a slight roll, changing smoothly along the clip. Frame ``t`` is the source image
warped by the camera path's affine at ``t`` (bilinear, reflected border, so no black wedges the
network could key on); the label of the last frame is the source label warped by the last affine
(nearest, so no mixed classes; pixels from outside the source = 255, ignored by the loss).

Motion per frame is a few pixels at 320 x 240 (``shift_px`` 1-6, ``zoom`` 0.5-2 %, ``roll_deg``
<= 0.3; scaled with the frame width): well inside one stride-16 cell, so a 21-cell window sees
where every pixel came from. Seeding follows :class:`~segmentation_plugins.training.clip_data.ClipTensors`:
without ``seed`` each call draws from torch's generator, which the trainer reseeds per epoch
and per worker (new paths every epoch, reproducible and resumable); with ``seed`` the path of a
clip depends on ``(seed, index)`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .clips import Sample
from .labels import IGNORE_INDEX


@dataclass(frozen=True)
class CameraMotion:
    """Ranges of the random camera path (per-frame rates at ``reference_width`` pixels wide).

    Each rate is drawn twice per clip (at its first and at its last step, the pan direction
    turning by at most ``turn_deg``, the roll keeping its sign) and interpolated linearly in
    between: the camera speeds up, slows down or turns smoothly, never jumps.
    """

    shift_px: tuple[float, float] = (1.0, 6.0)  # pan/tilt speed, pixels per frame
    tilt_ratio: float = 0.5  # vertical share of the shift: a car's camera pans more than it tilts
    zoom: tuple[float, float] = (0.005, 0.02)  # forward zoom per frame (0.01 = 1 % larger each frame)
    roll_deg: float = 0.3  # largest roll per frame, degrees
    turn_deg: float = 30.0  # largest change of the pan direction between the first and the last step
    last_zoom: tuple[float, float] = (1.0, 1.1)  # zoom of the annotated (last) frame over the source
    last_shift_px: float = 8.0  # largest offset of the last frame from the source
    last_roll_deg: float = 2.0  # largest roll of the last frame from the source
    reference_width: int = 320

    def __post_init__(self) -> None:
        for name in ("shift_px", "zoom", "last_zoom"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"CameraMotion.{name} must be (low, high) with 0 <= low <= high, got {(low, high)}")
        if self.last_zoom[0] <= 0:
            raise ValueError(f"CameraMotion.last_zoom must be positive, got {self.last_zoom}")
        for name in ("tilt_ratio", "roll_deg", "turn_deg", "last_shift_px", "last_roll_deg"):
            if getattr(self, name) < 0:
                raise ValueError(f"CameraMotion.{name} must be >= 0, got {getattr(self, name)}")
        if self.reference_width < 1:
            raise ValueError(f"CameraMotion.reference_width must be >= 1, got {self.reference_width}")

    def path(self, rng: np.random.Generator, length: int, size: tuple[int, int]) -> np.ndarray:
        """``(length, 2, 3)`` affines (source pixel -> frame pixel) of a random path for a ``(width, height)`` frame."""
        width, height = size
        px = width / self.reference_width

        heading, turn = rng.uniform(0, 2 * np.pi), np.deg2rad(rng.uniform(-1, 1) * self.turn_deg)
        roll_sign = rng.choice((-1.0, 1.0))

        def rates(direction: float) -> np.ndarray:  # (dx, dy, log zoom, roll) per frame
            magnitude = rng.uniform(*self.shift_px) * px
            dx, dy = magnitude * np.cos(direction), magnitude * np.sin(direction) * self.tilt_ratio
            return np.array([dx, dy, np.log1p(rng.uniform(*self.zoom)), roll_sign * rng.uniform(0, self.roll_deg)])

        # one heading that turns a little along the clip: a camera does not reverse its pan in a few frames
        start, end = rates(heading), rates(heading + turn)
        steps = length - 1
        # step k (frame k -> k + 1) moves by the rates interpolated between start and end
        velocity = [start + (end - start) * (k / max(steps - 1, 1)) for k in range(steps)]
        last = np.array(
            [
                rng.uniform(-1, 1) * self.last_shift_px * px,
                rng.uniform(-1, 1) * self.last_shift_px * px,
                np.log(rng.uniform(*self.last_zoom)),
                rng.uniform(-1, 1) * self.last_roll_deg,
            ]
        )
        poses = [last]
        for step in reversed(velocity):  # walk back from the annotated frame
            poses.append(poses[-1] - step)
        centre = ((width - 1) / 2.0, (height - 1) / 2.0)
        out = np.empty((length, 2, 3), dtype=np.float64)
        for t, (dx, dy, log_zoom, roll) in enumerate(reversed(poses)):
            out[t] = cv2.getRotationMatrix2D(centre, float(roll), float(np.exp(log_zoom)))
            out[t, :, 2] += (dx, dy)
        return out


class CameraMotionClips(torch.utils.data.Dataset):
    """L-frame clips filmed by a random moving camera over the frames of ``source`` (clip-length-1 dataset).

    Clip ``i`` uses source frame ``i % len(source)`` (``clips`` may exceed ``len(source)``: the
    same frame under other paths). The sample follows :mod:`.clips`, plus ``motion``: the
    ``(L, 2, 3)`` affines used (source pixel -> frame pixel). ``frame_numbers`` are pseudo
    numbers ending at the source frame's.
    """

    def __init__(
        self,
        source: torch.utils.data.Dataset,
        clip_length: int,
        clips: int | None = None,
        motion: CameraMotion | None = None,
        seed: int | None = None,
    ) -> None:
        if clip_length < 1:
            raise ValueError(f"clip_length must be >= 1, got {clip_length}")
        if clips is not None and clips < 1:
            raise ValueError(f"clips must be >= 1, got {clips}")
        if len(source) == 0:
            raise ValueError("CameraMotionClips: the source dataset is empty")
        self.source, self.clip_length = source, int(clip_length)
        self.clips = len(source) if clips is None else int(clips)
        self.motion = motion if motion is not None else CameraMotion()
        self.seed = seed

    def __len__(self) -> int:
        return self.clips

    def _rng(self, index: int) -> np.random.Generator:
        if self.seed is not None:
            return np.random.default_rng((int(self.seed), index))
        # torch's generator is reseeded per epoch and worker by the trainer (as ClipTensors does)
        return np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(f"clip {index} out of range (dataset has {len(self)})")
        sample = self.source[index % len(self.source)]
        image = np.asarray(sample["frames"])[-1]
        height, width = image.shape[:2]
        affines = self.motion.path(self._rng(index), self.clip_length, (width, height))
        frames = np.stack(
            [
                cv2.warpAffine(image, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
                for m in affines
            ]
        )
        # OpenCV has no int64 warp; train ids (and 255) fit in uint8
        label = cv2.warpAffine(
            np.asarray(sample["label"]).astype(np.uint8),
            affines[-1],
            (width, height),
            flags=cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=IGNORE_INDEX,
        ).astype(np.int64)
        last = int(np.asarray(sample["frame_numbers"])[-1])
        return {
            "frames": frames,
            "label": label,
            "name": sample["name"],
            "frame_numbers": np.arange(last - self.clip_length + 1, last + 1, dtype=np.int64),
            "motion": affines,
        }


__all__ = ["CameraMotion", "CameraMotionClips"]
