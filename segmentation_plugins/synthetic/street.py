"""A ray-cast street scene seen from a car driving forward with a slowly panning camera.

World coordinates in metres: ``x`` to the right of the road axis, ``z`` along the road, heights
above the ground. The road (``|x| < road_half``) is bordered by sidewalks up to the facade
planes ``|x| = facade_x``, which hold a row of buildings and hedges of varying height; sky above.
Poles (some with signs), cars (same direction, oncoming, parked) and walking people are
billboards standing on the ground. An ego-vehicle hood covers the bottom of the frame.

Every pixel gets a colour and one of the internal classes below; the format writers map the
classes to each dataset's annotation ids. Rendering is a pure function of the scene and the
time, so the same seed gives the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .textures import (
    FACADE_COLORS,
    TEXELS_PER_METRE,
    Sprite,
    SurfaceTiles,
    box_coverage,
    car_sprite,
    make_tiles,
    periodic_coverage,
    person_sprite,
    pole_sprite,
    sample_mip,
    sample_tile,
    sign_sprite,
)

SKY, BUILDING, ROAD, SIDEWALK, POLE, SIGN, VEGETATION, CAR, PERSON, EGO = range(10)
CLASS_NAMES = ("sky", "building", "road", "sidewalk", "pole", "sign", "vegetation", "car", "person", "ego vehicle")

FOG_DISTANCE = 90.0  # metres; distant surfaces fade, which also hides texture aliasing near the horizon
MIN_DEPTH = 1.0  # billboards closer than this are not drawn


@dataclass(frozen=True)
class Segment:
    """A stretch ``[z0, z1)`` of one side's facade: a building or a hedge."""

    z0: float
    z1: float
    height: float
    vegetation: bool
    color: tuple[float, float, float]
    window_period: float


@dataclass
class Billboard:
    """An upright picture at ground position ``(x, z) + velocity * t``, ``width`` x ``height`` metres."""

    kind: int
    x: float
    z: float
    vx: float
    vz: float
    width: float
    height: float
    base: float  # height of the bottom edge above the ground
    sprite: Sprite | None  # None: person, drawn per frame (walking legs)
    seed: int = 0
    depth_bias: float = 0.0  # a sign sits just in front of its pole

    def position(self, t: float) -> tuple[float, float]:
        return self.x + self.vx * t, self.z + self.vz * t


@dataclass
class StreetScene:
    """Geometry, motion and appearance of one video; :meth:`render` draws frame ``t``."""

    width: int
    height: int
    focal: float
    horizon: float
    camera_height: float
    road_half: float
    facade_x: float
    speed: float
    lane_x: float
    yaw0: float
    yaw_amplitude: float
    yaw_period: float
    yaw_phase: float
    sides: dict[int, list[Segment]]
    objects: list[Billboard]
    tiles: SurfaceTiles
    road_tint: np.ndarray
    paving_tint: np.ndarray
    hood: np.ndarray  # (H, W) bool
    _bounds: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._bounds = {side: np.array([s.z0 for s in segments]) for side, segments in self.sides.items()}
        self._segment_table = {
            side: {
                "height": np.array([s.height for s in segments]),
                "vegetation": np.array([s.vegetation for s in segments]),
                "color": np.array([s.color for s in segments], np.float32),
                "period": np.array([s.window_period for s in segments]),
            }
            for side, segments in self.sides.items()
        }
        cols, rows = np.meshgrid(
            np.arange(self.width, dtype=np.float64) + 0.5, np.arange(self.height, dtype=np.float64) + 0.5
        )
        # Surfaces are shaded on flat arrays of the pixels they cover: one ray per pixel centre.
        self._ray_x = ((cols - self.width / 2.0) / self.focal).ravel()
        self._ray_y = ((rows - self.horizon) / self.focal).ravel()
        self._ground = np.flatnonzero(self._ray_y > 1e-6)
        self._above = np.flatnonzero(self._ray_y <= 1e-6)
        shade = np.linspace(0.7, 1.0, self.height, dtype=np.float32)[:, None, None]
        self._hood_rgb = (np.array([45.0, 48.0, 55.0], np.float32) * shade * np.ones((1, self.width, 1), np.float32))[
            self.hood
        ]

    def camera(self, t: float) -> tuple[float, float, float]:
        """``(x, z, yaw)`` of the camera at time ``t`` (frames)."""
        swing = np.sin(2 * np.pi * t / self.yaw_period + self.yaw_phase)
        return (self.lane_x + 0.25 * swing, self.speed * t, self.yaw0 + self.yaw_amplitude * swing)

    def render(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """RGB ``(H, W, 3) uint8`` and internal classes ``(H, W) uint8`` of frame ``t``."""
        cam_x, cam_z, yaw = self.camera(t)
        cos, sin = np.cos(yaw), np.sin(yaw)
        world_dx = self._ray_x * cos + sin
        world_dz = -self._ray_x * sin + cos

        count = self.width * self.height
        classes = np.full(count, SKY, np.uint8)
        depth = np.full(count, np.inf)
        color = np.empty((count, 3), np.float32)
        color[self._above] = self._sky(world_dx[self._above], world_dz[self._above], self._above)

        index = self._ground
        t_ground = self.camera_height / self._ray_y[index]
        depth[index] = t_ground
        self._ground_color(
            index, t_ground, cam_x + t_ground * world_dx[index], cam_z + t_ground * world_dz[index], classes, color
        )
        for side in (-1, 1):
            self._facade(side, cam_x, cam_z, world_dx, world_dz, classes, depth, color)

        haze = np.array([185.0, 190.0, 200.0], np.float32)
        finite = np.flatnonzero(np.isfinite(depth))
        fog = (1.0 - np.exp(-depth[finite] / FOG_DISTANCE)).astype(np.float32)[:, None]
        color[finite] = color[finite] * (1 - fog) + haze * fog

        shape = (self.height, self.width)
        classes, depth, color = classes.reshape(shape), depth.reshape(shape), color.reshape(shape + (3,))
        for obj in sorted(self.objects, key=lambda o: -self._camera_depth(o, t, cam_x, cam_z, cos, sin)):
            self._draw(obj, t, cam_x, cam_z, cos, sin, classes, depth, color, haze)

        color[self.hood] = self._hood_rgb
        classes[self.hood] = EGO
        return np.clip(color + 0.5, 0, 255).astype(np.uint8), classes

    # -- surfaces (flat arrays over the pixels in ``index``) -------------------------------------

    def _sky(self, world_dx: np.ndarray, world_dz: np.ndarray, index: np.ndarray) -> np.ndarray:
        # Clouds are at infinity: they move with the pan, not with forward motion.
        azimuth = np.arctan2(world_dx, world_dz)
        elevation = -self._ray_y[index] / np.sqrt(1.0 + self._ray_x[index] ** 2)
        cover = sample_tile(self.tiles.sky, azimuth * (self.tiles.sky.shape[1] / (2 * np.pi)), elevation * 600.0)
        blend = np.clip(elevation * 2.5, 0.0, 1.0)[:, None]
        low, high = np.array([200.0, 215.0, 230.0]), np.array([90.0, 140.0, 205.0])
        sky = low * (1 - blend) + high * blend
        return sky * (1 - cover[:, None]) + 240.0 * cover[:, None]

    def _footprints(self, index: np.ndarray, distance: np.ndarray, facing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel footprint (metres) on a surface: across the view and along the slant of the surface.

        ``facing`` is the ray component along the surface normal (ray with unit forward component).
        """
        ray_norm = np.sqrt(1.0 + self._ray_x[index] ** 2 + self._ray_y[index] ** 2)
        across = distance * ray_norm / self.focal
        along = across * ray_norm / np.maximum(np.abs(facing), 1e-6)
        return across, np.minimum(along, 1e3)

    def _ground_color(
        self,
        index: np.ndarray,
        t_ground: np.ndarray,
        gx: np.ndarray,
        gz: np.ndarray,
        classes: np.ndarray,
        color: np.ndarray,
    ) -> None:
        road = np.abs(gx) < self.road_half
        classes[index] = np.where(road, ROAD, SIDEWALK)
        across, along = self._footprints(index, t_ground, self._ray_y[index])
        texels = np.sqrt(across * along) * TEXELS_PER_METRE
        u, v = gx * TEXELS_PER_METRE, gz * TEXELS_PER_METRE
        asphalt = self.road_tint * sample_mip(self.tiles.asphalt, u, v, texels)[:, None]
        paving = sample_mip(self.tiles.paving, u, v, texels)[:, None]
        walk = self.paving_tint * paving
        side = np.abs(gx)
        # Edges are box-filtered over the pixel footprint: hard edges would shimmer as the car moves.
        curb = box_coverage(side, self.road_half, self.road_half + 0.15, across)[:, None]
        walk = walk * (1 - curb) + 175.0 * paving * curb
        centre = box_coverage(gx, -0.08, 0.08, across) * periodic_coverage(gz, 6.0, 0.0, 0.5, along)
        edge = box_coverage(side, self.road_half - 0.37, self.road_half - 0.23, across)
        paint = np.maximum(centre, edge)[:, None]
        asphalt = asphalt * (1 - paint) + 220.0 * paint
        on_road = box_coverage(side, -1.0, self.road_half, across)[:, None]
        color[index] = asphalt * on_road + walk * (1 - on_road)

    def _facade(
        self,
        side: int,
        cam_x: float,
        cam_z: float,
        world_dx: np.ndarray,
        world_dz: np.ndarray,
        classes: np.ndarray,
        depth: np.ndarray,
        color: np.ndarray,
    ) -> None:
        index = np.flatnonzero(side * world_dx > 1e-6)
        t_hit = (side * self.facade_x - cam_x) / world_dx[index]
        hz = cam_z + t_hit * world_dz[index]
        hy = self.camera_height - t_hit * self._ray_y[index]
        table = self._segment_table[side]
        segment = np.clip(np.searchsorted(self._bounds[side], hz, side="right") - 1, 0, len(table["height"]) - 1)
        vegetation = table["vegetation"][segment]
        # Hedges get a leafy, uneven top edge.
        top = table["height"][segment] + vegetation * (0.5 * np.sin(hz * 2.3) + 0.3 * np.sin(hz * 5.1 + 1.0))
        hit = (hy >= 0) & (hy <= top) & (t_hit < depth[index])
        if not hit.any():
            return
        index, t_hit, hz, hy, segment, vegetation = (a[hit] for a in (index, t_hit, hz, hy, segment, vegetation))
        across, along = self._footprints(index, t_hit, world_dx[index])
        texels = np.sqrt(across * along) * TEXELS_PER_METRE
        u, v = hz * TEXELS_PER_METRE, -hy * TEXELS_PER_METRE
        grain = sample_mip(self.tiles.facade, u, v, texels)[:, None]
        period = table["period"][segment]
        window = (
            periodic_coverage(hz - self._bounds[side][segment], period, 0.25, 0.75, along)
            * periodic_coverage(hy, 3.0, 0.3, 0.8, across)
            * box_coverage(hy, 2.0, 1e4, across)
        )[:, None]
        wall = (table["color"][segment] * (1 - window) + np.array([45.0, 55.0, 70.0], np.float32) * window) * grain
        surface = np.where(vegetation[:, None], sample_mip(self.tiles.foliage, u, v, texels), wall)
        classes[index] = np.where(vegetation, VEGETATION, BUILDING)
        depth[index] = t_hit
        color[index] = surface

    # -- billboards -----------------------------------------------------------------------------

    @staticmethod
    def _camera_depth(obj: Billboard, t: float, cam_x: float, cam_z: float, cos: float, sin: float) -> float:
        x, z = obj.position(t)
        return (x - cam_x) * sin + (z - cam_z) * cos - obj.depth_bias

    def _draw(
        self,
        obj: Billboard,
        t: float,
        cam_x: float,
        cam_z: float,
        cos: float,
        sin: float,
        classes: np.ndarray,
        depth: np.ndarray,
        color: np.ndarray,
        haze: np.ndarray,
    ) -> None:
        x, z = obj.position(t)
        x_cam = (x - cam_x) * cos - (z - cam_z) * sin
        z_cam = (x - cam_x) * sin + (z - cam_z) * cos
        if z_cam < MIN_DEPTH:
            return
        scale = self.focal / z_cam
        centre = self.width / 2.0 + x_cam * scale
        left, right = centre - obj.width / 2 * scale, centre + obj.width / 2 * scale
        bottom = self.horizon + (self.camera_height - obj.base) * scale
        top = bottom - obj.height * scale
        x0, x1 = max(int(np.floor(left)), 0), min(int(np.ceil(right)), self.width)
        y0, y1 = max(int(np.floor(top)), 0), min(int(np.ceil(bottom)), self.height)
        if x1 <= x0 or y1 <= y0 or right - left < 1.0:
            return
        sprite = (
            obj.sprite
            if obj.sprite is not None
            else person_sprite(np.random.default_rng(obj.seed), phase=0.35 * np.hypot(x - obj.x, z - obj.z) / 0.05)
        )
        rgb_src, mask_src = sprite.rgb, sprite.mask
        sh, sw = mask_src.shape
        if right - left < sw or bottom - top < sh:
            # Average the sprite down to about its projected size first, so that distant objects do not alias.
            size = (max(1, min(sw, int(np.ceil(right - left)))), max(1, min(sh, int(np.ceil(bottom - top)))))
            rgb_src = cv2.resize(rgb_src, size, interpolation=cv2.INTER_AREA)
            mask_src = cv2.resize(mask_src, size, interpolation=cv2.INTER_AREA)
            sh, sw = mask_src.shape
        cols = ((np.arange(x0, x1) + 0.5 - left) / (right - left) * sw - 0.5).astype(np.float32)
        rows = ((np.arange(y0, y1) + 0.5 - top) / (bottom - top) * sh - 0.5).astype(np.float32)
        map_x, map_y = np.meshgrid(cols, rows)
        alpha = cv2.remap(mask_src, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        rgb = cv2.remap(rgb_src, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        region = (slice(y0, y1), slice(x0, x1))
        in_front = z_cam - obj.depth_bias < depth[region]
        blend = np.where(in_front, alpha, 0.0)[..., None]
        if not blend.any():
            return
        fog = 1.0 - np.exp(-z_cam / FOG_DISTANCE)
        color[region] = color[region] * (1 - blend) + (rgb * (1 - fog) + haze * fog) * blend
        owned = in_front & (alpha >= 0.5)  # the label goes to whoever covers most of the pixel
        classes[region][owned] = obj.kind
        depth[region][owned] = z_cam - obj.depth_bias


def _segments(rng: np.random.Generator, z_start: float, z_end: float) -> list[Segment]:
    segments, z = [], z_start
    while z < z_end:
        length = float(rng.uniform(6.0, 25.0))
        vegetation = bool(rng.random() < 0.25)
        height = float(rng.uniform(2.5, 6.0) if vegetation else rng.uniform(6.0, 24.0))
        color = FACADE_COLORS[rng.integers(len(FACADE_COLORS))] + rng.uniform(-20, 20, size=3)
        segments.append(
            Segment(
                z, z + length, height, vegetation, tuple(np.clip(color, 0, 255).tolist()), float(rng.uniform(2.0, 3.5))
            )
        )
        z += length
    return segments


def _hood(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    centre = (width // 2, int(height * rng.uniform(1.08, 1.14)))
    axes = (int(width * 0.75), int(height * 0.2))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
    return mask.astype(bool)


def make_street_scene(rng: np.random.Generator, width: int, height: int, num_frames: int) -> StreetScene:
    """Draw a random street scene for a video of ``num_frames`` frames at ``width x height``."""
    focal = width * rng.uniform(0.75, 0.95)
    horizon = height * rng.uniform(0.40, 0.48)
    road_half = float(rng.uniform(3.0, 5.0))
    facade_x = road_half + float(rng.uniform(2.0, 4.0))
    speed = float(rng.uniform(0.25, 0.6))  # metres per frame: 15-35 km/h at 17 Hz
    lane_x = road_half * float(rng.uniform(0.3, 0.6))
    travel = speed * num_frames
    sides = {side: _segments(rng, -60.0, travel + 600.0) for side in (-1, 1)}

    objects: list[Billboard] = []
    for side in (-1, 1):
        z = float(rng.uniform(2.0, 15.0))
        while z < travel + 120.0:
            pole_x = side * (road_half + 0.45)
            objects.append(
                Billboard(POLE, pole_x, z, 0.0, 0.0, 0.16, float(rng.uniform(5.0, 7.0)), 0.0, pole_sprite(rng))
            )
            if rng.random() < 0.4:
                objects.append(
                    Billboard(
                        SIGN,
                        pole_x,
                        z,
                        0.0,
                        0.0,
                        0.7,
                        0.7,
                        float(rng.uniform(2.2, 3.0)),
                        sign_sprite(rng),
                        depth_bias=0.05,
                    )
                )
            z += float(rng.uniform(12.0, 25.0))
    for _ in range(int(rng.integers(1, 3))):  # same direction, ahead, never slower than the camera
        objects.append(
            Billboard(
                CAR,
                lane_x + float(rng.uniform(-0.3, 0.3)),
                float(rng.uniform(8.0, 40.0)),
                0.0,
                speed + float(rng.uniform(0.0, 0.3)),
                1.8,
                1.5,
                0.0,
                car_sprite(rng, False),
            )
        )
    for _ in range(int(rng.integers(1, 4))):  # oncoming
        objects.append(
            Billboard(
                CAR,
                -lane_x + float(rng.uniform(-0.3, 0.3)),
                float(rng.uniform(15.0, 120.0)),
                0.0,
                -float(rng.uniform(0.3, 0.8)),
                1.8,
                1.5,
                0.0,
                car_sprite(rng, True),
            )
        )
    for _ in range(int(rng.integers(1, 4))):  # parked
        side = 1 if rng.random() < 0.5 else -1
        objects.append(
            Billboard(
                CAR,
                side * (road_half - 1.1),
                float(rng.uniform(6.0, 20.0 + travel)),
                0.0,
                0.0,
                1.8,
                1.5,
                0.0,
                car_sprite(rng, side < 0),
            )
        )
    for index in range(int(rng.integers(2, 7))):  # pedestrians on the sidewalks
        side = 1 if rng.random() < 0.5 else -1
        objects.append(
            Billboard(
                PERSON,
                side * float(rng.uniform(road_half + 0.6, facade_x - 0.4)),
                float(rng.uniform(4.0, 20.0 + travel)),
                0.0,
                float(rng.choice([-1, 1]) * rng.uniform(0.03, 0.1)),
                0.55,
                float(rng.uniform(1.55, 1.9)),
                0.0,
                None,
                seed=int(rng.integers(2**31)) + index,
            )
        )

    tint = rng.uniform(70, 100)
    return StreetScene(
        width=width,
        height=height,
        focal=focal,
        horizon=horizon,
        camera_height=float(rng.uniform(1.2, 1.6)),
        road_half=road_half,
        facade_x=facade_x,
        speed=speed,
        lane_x=lane_x,
        yaw0=float(rng.uniform(-0.05, 0.05)),
        yaw_amplitude=float(rng.uniform(0.02, 0.08)),
        yaw_period=float(rng.uniform(40.0, 90.0)),
        yaw_phase=float(rng.uniform(0, 2 * np.pi)),
        sides=sides,
        objects=objects,
        tiles=make_tiles(rng),
        road_tint=np.array([tint, tint, tint + 5.0]),
        paving_tint=rng.uniform(140, 200, size=3),
        hood=_hood(width, height, rng),
    )


__all__ = [
    "CLASS_NAMES",
    "StreetScene",
    "make_street_scene",
    "SKY",
    "BUILDING",
    "ROAD",
    "SIDEWALK",
    "POLE",
    "SIGN",
    "VEGETATION",
    "CAR",
    "PERSON",
    "EGO",
]
