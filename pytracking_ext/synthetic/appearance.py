"""Appearance of synthetic scenes: smooth random textures, texture families and object outlines.

A *family* fixes a base colour and a pattern (orientation and frequency of stripes on top of
smooth noise); two textures of one family look alike, which is what makes a distractor similar.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TEXTURE_SIZE = 64


@dataclass(frozen=True)
class TextureFamily:
    """Shared look of similar objects: base colour (RGB 0..255) and stripe pattern."""

    color: tuple[float, float, float]
    stripe_angle: float
    stripe_period: float


def random_family(rng: np.random.Generator) -> TextureFamily:
    """A saturated base colour (so objects stand out from the greyish background) and a stripe pattern."""
    hue = rng.uniform(0, 180)
    hsv = np.array([[[hue, rng.uniform(170, 255), rng.uniform(160, 255)]]], dtype=np.float32)
    rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0].astype(float)
    return TextureFamily(tuple(rgb), rng.uniform(0, np.pi), rng.uniform(6, 16))


def smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int, channels: int = 3) -> np.ndarray:
    """Band-limited noise in [-1, 1]: coarse random values upsampled bicubically."""
    coarse = rng.uniform(-1, 1, size=(max(2, height // cell + 2), max(2, width // cell + 2), channels))
    fine = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(fine.reshape(height, width, channels), -1, 1)


def object_texture(rng: np.random.Generator, family: TextureFamily, size: int = TEXTURE_SIZE) -> np.ndarray:
    """A ``size x size`` RGB texture of ``family`` with its own noise and a slight colour shift."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi)
    along = xx * np.cos(family.stripe_angle) + yy * np.sin(family.stripe_angle)
    stripes = np.sin(2 * np.pi * along / family.stripe_period + phase)[..., None]
    noise = smooth_noise(rng, size, size, cell=8)
    color = np.asarray(family.color, dtype=np.float32) + rng.uniform(-18, 18, size=3)
    texture = color * (0.75 + 0.2 * stripes) + 35 * noise
    return np.clip(texture, 0, 255).astype(np.uint8)


def background_texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Muted, cluttered background: several noise scales around a random grey-ish tone."""
    base = rng.uniform(70, 150, size=3).astype(np.float32)
    texture = (
        base
        + 45 * smooth_noise(rng, height, width, cell=48)
        + 25 * smooth_noise(rng, height, width, cell=12)
        + 10 * smooth_noise(rng, height, width, cell=3)
    )
    return np.clip(texture, 0, 255).astype(np.uint8)


def ellipse_outline(points: int = 48) -> np.ndarray:
    """Unit circle as an ``(points, 2)`` polygon (scaled per axis it becomes an ellipse)."""
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def polygon_outline(rng: np.random.Generator) -> np.ndarray:
    """Star-convex polygon with 5-9 corners and maximum radius 1."""
    count = int(rng.integers(5, 10))
    angles = np.sort(rng.uniform(0, 2 * np.pi, size=count))
    radii = rng.uniform(0.6, 1.0, size=count)
    radii /= radii.max()
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def random_outline(rng: np.random.Generator) -> np.ndarray:
    """An ellipse or a polygon, equally likely."""
    return ellipse_outline() if rng.random() < 0.5 else polygon_outline(rng)


def occluder_outline() -> np.ndarray:
    """Square outline (an occluder is a textured board sliding in front of the target)."""
    return np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
