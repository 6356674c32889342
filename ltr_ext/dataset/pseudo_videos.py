"""Pseudo-videos from single annotated frames, the way VOS methods pretrain without video.

An object is cut out of a real frame with its mask and moved over another real frame for a few
dozen frames: random affine motion (translation, scale drift, small rotation), a panning
background, objects of other videos crossing in front (occluders) and copies of the target with
jittered colours moving on their own (distractors of similar appearance, the failure mode of
issue 19: drift to a similar object). Only the target is annotated (object 1), so distractors are
background to learn from. The result is a DAVIS-2017-layout folder that
:func:`ltr_ext.dataset.davis` reads (``ImageSets/2017/train.txt``).

Sources are DAVIS-layout folders (``JPEGImages/480p/<seq>/*.jpg`` with
``Annotations/480p/<seq>/*.png``). The same arguments give the same videos.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pytracking_ext.errors import DatasetError
from pytracking_ext.utils.io import atomic_write_text, imread_indexed, imwrite_indexed


@dataclass(frozen=True)
class PseudoVideoSpec:
    """What to generate: counts, frame size and how often occluders / distractors appear."""

    num_videos: int = 60
    num_frames: int = 30
    size: tuple[int, int] = (432, 240)  # width, height
    seed: int = 0
    occluder_probability: float = 0.5
    max_distractors: int = 2
    min_area_fraction: float = 0.02  # target area at the start, as a fraction of the frame
    max_area_fraction: float = 0.15
    # spread of the per-frame log-scale rate of every sprite: 0.04 lets a target grow or shrink
    # several-fold within 30 frames, as a motorbike passing the camera does (issue 19)
    scale_drift: float = 0.008
    # None: distractors start anywhere in the frame; a number: they start this many target sizes
    # (normal spread) from the target, so they cross its path, the case that makes trackers drift
    distractor_spread: float | None = None


@dataclass(frozen=True)
class _Annotated:
    image: Path
    mask: Path
    sequence: str


@dataclass
class _Sprite:
    """A cut-out (RGB + alpha) moving on its own affine path."""

    rgb: np.ndarray
    alpha: np.ndarray
    centre: np.ndarray
    velocity: np.ndarray
    scale: float
    scale_rate: float
    angle: float
    spin: float

    def step(self, rng: np.random.Generator, size: tuple[int, int]) -> None:
        width, height = size
        self.velocity = 0.9 * self.velocity + rng.normal(0.0, 1.0, 2)
        self.centre = self.centre + self.velocity
        # bounce so the sprite keeps coming back into view (a tracker must follow it, not lose it)
        for axis, limit in ((0, width), (1, height)):
            if not 0 <= self.centre[axis] <= limit:
                self.velocity[axis] = -self.velocity[axis]
                self.centre[axis] = float(np.clip(self.centre[axis], 0, limit))
        self.scale = float(np.clip(self.scale * np.exp(self.scale_rate + rng.normal(0.0, 0.01)), 0.1, 4.0))
        self.angle += self.spin

    def render(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The sprite's RGB and alpha placed in a frame of ``size`` (width, height)."""
        h, w = self.alpha.shape
        matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), self.angle, self.scale)
        matrix[:, 2] += self.centre - np.array([w / 2.0, h / 2.0])
        rgb = cv2.warpAffine(self.rgb, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0)
        alpha = cv2.warpAffine(self.alpha, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0)
        return rgb, alpha


def annotated_frames(roots: Sequence[str | Path], names: Sequence[str] | None = None) -> list[_Annotated]:
    """Every frame with a non-empty mask in the DAVIS-layout ``roots`` (only sequences in ``names``)."""
    found = []
    for root in map(Path, roots):
        annotations = root / "Annotations" / "480p"
        if not annotations.is_dir():
            raise DatasetError(f"pseudo videos: {root} has no Annotations/480p folder")
        for seq_dir in sorted(p for p in annotations.iterdir() if p.is_dir()):
            if names and seq_dir.name not in names:
                continue
            for mask in sorted(seq_dir.glob("*.png")):
                image = root / "JPEGImages" / "480p" / seq_dir.name / f"{mask.stem}.jpg"
                if image.is_file():
                    found.append(_Annotated(image, mask, seq_dir.name))
    if len({a.sequence for a in found}) < 2:
        raise DatasetError(f"pseudo videos: need annotated frames of at least two sequences in {list(roots)}")
    return found


def _cutout(item: _Annotated) -> tuple[np.ndarray, np.ndarray] | None:
    """The object's RGB and alpha cropped to its mask's box, or None for a tiny mask."""
    mask = imread_indexed(item.mask) > 0
    if mask.sum() < 400:
        return None
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rgb = cv2.cvtColor(cv2.imread(str(item.image), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return rgb[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1].astype(np.float32)


def _pick_cutout(rng: np.random.Generator, items: list[_Annotated], exclude: str | None = None):
    for _ in range(50):
        item = items[int(rng.integers(len(items)))]
        if item.sequence == exclude:
            continue
        cut = _cutout(item)
        if cut is not None:
            return item, cut
    raise DatasetError("pseudo videos: no usable object mask (all masks under 400 pixels)")


def _jitter_colours(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A similar-looking copy: small hue shift, gain and bias (a distractor, not a different object)."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + int(rng.integers(-8, 9))) % 180
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    return np.clip(out * rng.uniform(0.8, 1.2) + rng.uniform(-15, 15), 0, 255).astype(np.uint8)


def _sprite(rgb, alpha, rng, spec: PseudoVideoSpec, area_fraction: float) -> _Sprite:
    width, height = spec.size
    scale = float(np.sqrt(area_fraction * width * height / max(alpha.sum(), 1.0)))
    return _Sprite(
        rgb=rgb,
        alpha=alpha,
        centre=np.array([rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height]),
        velocity=rng.normal(0.0, 3.0, 2),
        scale=scale,
        scale_rate=float(rng.normal(0.0, spec.scale_drift)),
        angle=float(rng.uniform(-10, 10)),
        spin=float(rng.normal(0.0, 0.5)),
    )


def _background_path(rng: np.random.Generator, items: list[_Annotated], spec: PseudoVideoSpec):
    """A panning crop of a real frame: (image, start corner, end corner, crop size)."""
    item = items[int(rng.integers(len(items)))]
    image = cv2.cvtColor(cv2.imread(str(item.image), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    width, height = spec.size
    zoom = rng.uniform(1.1, 1.4)
    image = cv2.resize(image, (int(width * zoom), int(height * zoom)), interpolation=cv2.INTER_AREA)
    slack = np.array([image.shape[1] - width, image.shape[0] - height], dtype=float)
    return image, rng.uniform(0, 1, 2) * slack, rng.uniform(0, 1, 2) * slack


def _compose(frame: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return (frame * (1.0 - a) + rgb * a).astype(np.float32)


def render_video(index: int, items: list[_Annotated], spec: PseudoVideoSpec):
    """Frames (RGB uint8) and target masks (bool) of pseudo-video ``index``."""
    rng = np.random.default_rng([spec.seed, index])
    target_item, (rgb, alpha) = _pick_cutout(rng, items)
    area = rng.uniform(spec.min_area_fraction, spec.max_area_fraction)
    target = _sprite(rgb, alpha, rng, spec, area)
    distractors = [
        _sprite(_jitter_colours(rgb, rng), alpha, rng, spec, area * rng.uniform(0.7, 1.3))
        for _ in range(int(rng.integers(0, spec.max_distractors + 1)))
    ]
    if spec.distractor_spread is not None:
        target_size = np.sqrt(area * spec.size[0] * spec.size[1])
        for distractor in distractors:
            distractor.centre = target.centre + rng.normal(0.0, spec.distractor_spread * target_size, 2)
    # distractors behind or in front of the target: both happen with similar objects in real videos
    in_front = [bool(rng.random() < 0.3) for _ in distractors]
    occluder = None
    if rng.random() < spec.occluder_probability:
        _, (orgb, oalpha) = _pick_cutout(rng, items, exclude=target_item.sequence)
        occluder = _sprite(orgb, oalpha, rng, spec, rng.uniform(0.05, 0.2))
        occluder.centre = target.centre + rng.normal(0.0, 40.0, 2)  # crosses the target's path
    background, start, end = _background_path(rng, items, spec)
    width, height = spec.size
    frames, masks = [], []
    for t in range(spec.num_frames):
        corner = (start + (end - start) * t / max(spec.num_frames - 1, 1)).astype(int)
        frame = background[corner[1] : corner[1] + height, corner[0] : corner[0] + width].astype(np.float32)
        layers = [(d, False) for d, front in zip(distractors, in_front, strict=True) if not front]
        layers += [(target, True)] + [(d, False) for d, front in zip(distractors, in_front, strict=True) if front]
        if occluder is not None:
            layers.append((occluder, False))
        visible = np.zeros((height, width), dtype=np.float32)
        for sprite, is_target in layers:
            srgb, salpha = sprite.render(spec.size)
            frame = _compose(frame, srgb, salpha)
            visible = salpha if is_target else visible * (1.0 - salpha)
            sprite.step(rng, spec.size)
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
        masks.append(visible > 0.5)
    return frames, masks


def write_pseudo_videos(out: str | Path, roots: Sequence[str | Path], spec: PseudoVideoSpec, names=None) -> Path:
    """Write the pseudo-videos into ``out`` (DAVIS 2017 layout, written aside and renamed when done)."""
    out = Path(out)
    if (out / "ImageSets" / "2017" / "train.txt").is_file():
        return out
    items = annotated_frames(roots, names)
    partial = out.with_name(out.name + f".partial{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    video_names = []
    for index in range(spec.num_videos):
        name = f"pseudo{index:04d}"
        frames, masks = render_video(index, items, spec)
        image_dir = partial / "JPEGImages" / "480p" / name
        mask_dir = partial / "Annotations" / "480p" / name
        image_dir.mkdir(parents=True)
        mask_dir.mkdir(parents=True)
        for t, (frame, mask) in enumerate(zip(frames, masks, strict=True)):
            cv2.imwrite(str(image_dir / f"{t:05d}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            imwrite_indexed(mask_dir / f"{t:05d}.png", mask.astype(np.uint8))
        video_names.append(name)
    atomic_write_text(partial / "ImageSets" / "2017" / "train.txt", "\n".join(video_names) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return out
