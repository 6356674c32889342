"""Procedural textures and object sprites of the synthetic street scenes.

Surface textures are seamless square tiles (periodic noise made in the Fourier domain) so that
wrapping them over a world-aligned surface shows no seams; their detail gives optical flow
something to lock onto. Sprites are small RGB pictures with a mask, scaled onto billboards.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

TILE = 256  # tile side in texels
TEXELS_PER_METRE = 32.0  # a tile covers 8 m x 8 m of world surface
_MAP_ROW = 4096


def periodic_noise(rng: np.random.Generator, size: int, cutoff: float) -> np.ndarray:
    """Seamless ``(size, size)`` noise in [-1, 1] with detail up to ``cutoff`` cycles per texel."""
    white = rng.standard_normal((size, size))
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    spectrum = np.fft.rfft2(white) * np.exp(-(fx**2 + fy**2) / (2.0 * cutoff**2))
    noise = np.fft.irfft2(spectrum, s=(size, size))
    return (noise / max(np.abs(noise).max(), 1e-12)).astype(np.float32)


def octave_noise(
    rng: np.random.Generator, size: int, cutoffs: tuple[float, ...], weights: tuple[float, ...]
) -> np.ndarray:
    """Weighted sum of :func:`periodic_noise` at several cutoffs (roughly in [-1, 1])."""
    total = sum(w * periodic_noise(rng, size, c) for c, w in zip(cutoffs, weights))
    return (total / sum(weights)).astype(np.float32)


MIP_LEVELS = 7  # level k is blurred for a footprint of about 2**k texels per pixel


def mip_stack(tile: np.ndarray) -> np.ndarray:
    """``(MIP_LEVELS, ...)`` copies of a periodic tile, each band-limited for twice the footprint of the previous.

    Sampling the level that matches a pixel's footprint keeps distant surfaces from aliasing into
    noise that changes from frame to frame (which optical flow cannot follow).
    """
    size = tile.shape[0]
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    spectrum = np.fft.rfft2(tile, axes=(0, 1))
    levels = [tile.astype(np.float32)]
    for level in range(1, MIP_LEVELS):
        sigma = 0.5 * 2.0**level
        gain = np.exp(-2.0 * np.pi**2 * sigma**2 * (fx**2 + fy**2))
        if tile.ndim == 3:
            gain = gain[..., None]
        levels.append(np.fft.irfft2(spectrum * gain, s=tile.shape[:2], axes=(0, 1)).astype(np.float32))
    return np.stack(levels)


@dataclass(frozen=True)
class SurfaceTiles:
    """Luminance/colour tiles of one video (float32 mip stacks, sampled with wrap-around)."""

    asphalt: np.ndarray  # (MIP_LEVELS, TILE, TILE) luminance factor around 1
    paving: np.ndarray  # (MIP_LEVELS, TILE, TILE) luminance factor with paving-stone joints
    facade: np.ndarray  # (MIP_LEVELS, TILE, TILE) luminance factor (plaster grain)
    foliage: np.ndarray  # (MIP_LEVELS, TILE, TILE, 3) RGB 0..255
    sky: np.ndarray  # (TILE, 4 * TILE) cloud cover 0..1 over azimuth x elevation (smooth: no mip stack)


def make_tiles(rng: np.random.Generator) -> SurfaceTiles:
    """Draw the texture tiles of one video."""
    asphalt = 1.0 + 0.18 * octave_noise(rng, TILE, (0.25, 0.06, 0.015), (1.0, 0.8, 0.6))
    joints = np.ones((TILE, TILE), np.float32)
    stone = int(rng.choice([8, 16]))  # 0.25 m or 0.5 m paving stones
    joints[::stone, :] = 0.7
    joints[:, ::stone] = 0.7
    paving = joints * (1.0 + 0.12 * octave_noise(rng, TILE, (0.2, 0.03), (1.0, 1.0)))
    facade = 1.0 + 0.12 * octave_noise(rng, TILE, (0.3, 0.05, 0.01), (1.0, 0.7, 0.8))
    leaves = octave_noise(rng, TILE, (0.25, 0.08, 0.02), (1.0, 1.0, 0.8))
    green = np.array([70.0, 110.0, 40.0], np.float32) + rng.uniform(-15, 15, size=3)
    foliage = green * (1.0 + 0.45 * leaves[..., None]) + 25.0 * periodic_noise(rng, TILE, 0.1)[..., None]
    clouds = np.tile(octave_noise(rng, TILE, (0.02, 0.008), (1.0, 1.0)), (1, 4))
    cover = np.clip((clouds - rng.uniform(-0.1, 0.3)) * 2.5, 0.0, 1.0)
    return SurfaceTiles(
        mip_stack(asphalt),
        mip_stack(paving),
        mip_stack(facade),
        mip_stack(np.clip(foliage, 0, 255)),
        cover.astype(np.float32),
    )


def _layout(u: np.ndarray, v: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Wrapped float32 remap maps for flat coordinates (remap wants 2-D maps below 32767 per side)."""
    count = int(np.size(u))
    row = min(count, _MAP_ROW)
    rows = -(-count // row)
    maps = np.zeros((2, rows * row), np.float32)
    maps[0, :count] = np.mod(u, width).ravel()  # wrapping first keeps float32 precise
    maps[1, :count] = np.mod(v, height).ravel()
    return maps[0].reshape(rows, row), maps[1].reshape(rows, row), count


def _lookup(tile: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, count: int) -> np.ndarray:
    out = cv2.remap(tile, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return out.reshape((-1,) + tile.shape[2:])[:count]


def sample_tile(tile: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear lookup of ``tile`` at texel coordinates ``(u, v)`` (any shape) with wrap-around."""
    shape = np.shape(u)
    if np.size(u) == 0:
        return np.zeros(shape + tile.shape[2:], tile.dtype)
    map_x, map_y, count = _layout(u, v, tile.shape[1], tile.shape[0])
    return _lookup(tile, map_x, map_y, count).reshape(shape + tile.shape[2:])


def sample_mip(stack: np.ndarray, u: np.ndarray, v: np.ndarray, texels_per_pixel: np.ndarray) -> np.ndarray:
    """Trilinear lookup in a :func:`mip_stack` (flat arrays): blend of the two levels around the footprint."""
    lod = np.clip(np.log2(np.maximum(texels_per_pixel, 1.0)), 0.0, len(stack) - 1.0 - 1e-6)
    level = lod.astype(np.intp)
    weight = (lod - level).astype(np.float32)
    out = np.empty(np.shape(u) + stack.shape[3:], np.float32)
    order = np.argsort(level, kind="stable")
    bounds = np.searchsorted(level[order], np.arange(len(stack) + 1))
    for k in range(len(stack) - 1):
        pick = order[bounds[k] : bounds[k + 1]]
        if pick.size == 0:
            continue
        map_x, map_y, count = _layout(u[pick], v[pick], stack.shape[2], stack.shape[1])
        w = weight[pick] if stack.ndim == 3 else weight[pick, None]
        out[pick] = _lookup(stack[k], map_x, map_y, count) * (1 - w) + _lookup(stack[k + 1], map_x, map_y, count) * w
    return out


def box_coverage(
    coord: np.ndarray, low: float | np.ndarray, high: float | np.ndarray, footprint: np.ndarray
) -> np.ndarray:
    """Fraction of a pixel footprint ``[coord - fp/2, coord + fp/2]`` inside ``[low, high]`` (anti-aliased edges)."""
    half = footprint / 2.0
    return np.clip((np.minimum(coord + half, high) - np.maximum(coord - half, low)) / footprint, 0.0, 1.0)


def periodic_coverage(
    coord: np.ndarray, period: float | np.ndarray, low: float, high: float, footprint: np.ndarray
) -> np.ndarray:
    """:func:`box_coverage` of the band ``[low, high] * period`` repeating every ``period``.

    Footprints of a period or more get the band's mean coverage.
    """
    phase = np.mod(coord, period)
    inside = box_coverage(phase, low * period, high * period, footprint)
    # A footprint may straddle the previous or next repetition of the band.
    inside = inside + box_coverage(phase, (low - 1) * period, (high - 1) * period, footprint)
    inside = inside + box_coverage(phase, (low + 1) * period, (high + 1) * period, footprint)
    return np.where(footprint >= period, high - low, np.clip(inside, 0.0, 1.0))


@dataclass(frozen=True)
class Sprite:
    """An RGB picture and its mask; the picture is scaled to the billboard's projected size."""

    rgb: np.ndarray  # (h, w, 3) float32 0..255
    mask: np.ndarray  # (h, w) float32 0/1


def _noisy_fill(rng: np.random.Generator, shape: tuple[int, int], color: np.ndarray, amount: float) -> np.ndarray:
    grain = cv2.resize(
        rng.uniform(-1, 1, size=(max(2, shape[0] // 4), max(2, shape[1] // 4))).astype(np.float32),
        (shape[1], shape[0]),
        interpolation=cv2.INTER_LINEAR,
    )
    return np.clip(color[None, None, :] * (1.0 + amount * grain[..., None]), 0, 255).astype(np.float32)


CAR_COLORS = np.array(
    [
        [200, 200, 205],
        [30, 30, 35],
        [150, 20, 25],
        [25, 50, 130],
        [120, 125, 130],
        [230, 230, 225],
        [60, 90, 60],
        [180, 150, 60],
    ],
    np.float32,
)


def car_sprite(rng: np.random.Generator, facing_camera: bool) -> Sprite:
    """Rear (or front, for oncoming cars) view of a car, 64 x 48 texels for about 1.8 m x 1.5 m."""
    h, w = 48, 64
    color = CAR_COLORS[rng.integers(len(CAR_COLORS))] + rng.uniform(-15, 15, size=3)
    rgb = _noisy_fill(rng, (h, w), np.clip(color, 0, 255), 0.12)
    mask = np.zeros((h, w), np.uint8)
    cv2.rectangle(mask, (1, 18), (w - 2, 41), 1, -1)  # body
    cv2.fillConvexPoly(mask, np.array([[10, 19], [16, 3], [w - 17, 3], [w - 11, 19]], np.int32), 1)  # cabin
    window = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(window, np.array([[13, 17], [18, 6], [w - 19, 6], [w - 14, 17]], np.int32), 1)
    rgb[window > 0] = np.array([40, 50, 60], np.float32) + rng.uniform(-10, 30)
    for x0 in (4, w - 16):  # wheels
        cv2.rectangle(mask, (x0, 38), (x0 + 11, h - 1), 1, -1)
        rgb[38:h, x0 : x0 + 12] = 20.0
    lamp = np.array([240, 230, 170] if facing_camera else [200, 20, 20], np.float32)
    rgb[23:29, 3:12] = lamp
    rgb[23:29, w - 12 : w - 3] = lamp
    rgb[31:36, w // 2 - 8 : w // 2 + 8] = 225.0  # number plate
    return Sprite(rgb, mask.astype(np.float32))


def person_sprite(rng: np.random.Generator, phase: float) -> Sprite:
    """A walking person, 24 x 64 texels for about 0.55 m x 1.75 m; ``phase`` moves the legs."""
    h, w = 64, 24
    rgb = np.zeros((h, w, 3), np.float32)
    mask = np.zeros((h, w), np.uint8)
    skin = np.array([225, 180, 150], np.float32) * rng.uniform(0.55, 1.0)
    shirt = rng.uniform(20, 235, size=3).astype(np.float32)
    trousers = rng.uniform(20, 120, size=3).astype(np.float32)
    cv2.circle(mask, (w // 2, 6), 5, 1, -1)
    rgb[:13] = skin
    cv2.rectangle(mask, (5, 12), (w - 6, 36), 1, -1)
    rgb[12:37] = shirt
    swing = int(round(3 * np.sin(phase)))
    for centre, sign in ((w // 2 - 4, 1), (w // 2 + 3, -1)):
        foot = centre + sign * swing
        cv2.fillConvexPoly(
            mask, np.array([[centre - 2, 36], [centre + 2, 36], [foot + 2, h - 1], [foot - 2, h - 1]], np.int32), 1
        )
    rgb[37:] = trousers
    return Sprite(rgb, mask.astype(np.float32))


def pole_sprite(rng: np.random.Generator) -> Sprite:
    """A grey pole, 6 x 96 texels."""
    shade = rng.uniform(90, 170)
    column = shade * (0.8 + 0.35 * np.sin(np.linspace(0, np.pi, 6)))
    rgb = np.repeat(np.repeat(column[None, :, None], 96, axis=0), 3, axis=2).astype(np.float32)
    return Sprite(rgb, np.ones((96, 6), np.float32))


def sign_sprite(rng: np.random.Generator) -> Sprite:
    """A round or square traffic sign, 32 x 32 texels."""
    size = 32
    mask = np.zeros((size, size), np.uint8)
    inner = np.zeros((size, size), np.uint8)
    if rng.random() < 0.5:
        cv2.circle(mask, (16, 16), 15, 1, -1)
        cv2.circle(inner, (16, 16), 11, 1, -1)
    else:
        cv2.rectangle(mask, (1, 1), (30, 30), 1, -1)
        cv2.rectangle(inner, (5, 5), (26, 26), 1, -1)
    colors = np.array([[200, 20, 20], [20, 60, 190], [240, 200, 20]], np.float32)
    rgb = np.full((size, size, 3), 235.0, np.float32)
    rgb[inner > 0] = colors[rng.integers(len(colors))]
    return Sprite(rgb, mask.astype(np.float32))


FACADE_COLORS = np.array(
    [[200, 185, 160], [170, 165, 160], [150, 75, 55], [225, 220, 205], [120, 110, 100], [190, 160, 120]], np.float32
)


__all__ = [
    "FACADE_COLORS",
    "MIP_LEVELS",
    "Sprite",
    "SurfaceTiles",
    "TEXELS_PER_METRE",
    "TILE",
    "box_coverage",
    "car_sprite",
    "make_tiles",
    "mip_stack",
    "octave_noise",
    "periodic_coverage",
    "periodic_noise",
    "person_sprite",
    "pole_sprite",
    "sample_mip",
    "sample_tile",
    "sign_sprite",
]
