"""Synthetic video scenes: planning (what happens) and rendering (frames with exact label maps).

Layers, bottom to top: a textured background panning slowly; unannotated distractors (same
texture family as the first target); the annotated objects in id order; occluder boards. The
label map holds, per pixel, the id of the annotated object visible there (0 elsewhere), so each
object's visible mask, and therefore its ground-truth box, is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from . import appearance
from .motion import ABSENCE_EVENTS, PRESENT_EVENTS, Motion, Window, pass_offset, random_motion, schedule_events

MIN_INIT_FRACTION = 0.6  # an init frame shows at least this fraction of the object
MIN_VISIBLE_PIXELS = 16  # "present" frames of formats without absence markers show at least this much


@dataclass(frozen=True)
class SceneConfig:
    """What a sequence must contain; filled in by the format writers."""

    width: int
    height: int
    num_frames: int
    num_objects: int = 1
    allow_absence: bool = True
    keep_visible: frozenset[int] = frozenset({0})
    late_starts: bool = False
    variant: int = 0  # sequence index: cycles the main event so every kind occurs in small datasets
    distractors: int | None = None  # look-alikes of the first object; None: one, except every third variant


@dataclass
class Layer:
    """One drawn thing: an outline moved by ``motion`` and filled with ``texture``."""

    outline: np.ndarray
    texture: np.ndarray
    motion: Motion
    start: int = 0


@dataclass
class Occluder:
    """A board sliding across object ``target`` during ``window``."""

    window: Window
    target: int
    half_size: float  # in units of the target's radius
    side_offset: float  # perpendicular offset, in units of the target's radius
    texture: np.ndarray


@dataclass
class FrameRender:
    """One rendered frame: RGB image, label map and per-object measurements (index 0 = id 1)."""

    image: np.ndarray | None
    label: np.ndarray
    visible_pixels: np.ndarray
    unoccluded_pixels: np.ndarray
    full_area: np.ndarray
    cut_by_image: np.ndarray
    started: np.ndarray
    center: np.ndarray
    half_sizes: np.ndarray
    angle: np.ndarray


@dataclass
class Scene:
    """A planned sequence; :meth:`render` draws the frame at any (fractional) time."""

    config: SceneConfig
    background: np.ndarray
    pan_velocity: np.ndarray
    gain_amp: float
    gain_freq: float
    objects: list[Layer]
    distractors: list[Layer] = field(default_factory=list)
    occluders: list[Occluder] = field(default_factory=list)

    @property
    def has_distractor(self) -> bool:
        return bool(self.distractors)

    def gain(self, t: float) -> float:
        return 1.0 + self.gain_amp * np.sin(2 * np.pi * self.gain_freq * t)

    def _polygon(
        self, layer_outline: np.ndarray, center: np.ndarray, half: tuple[float, float], angle: float
    ) -> np.ndarray:
        c, s = np.cos(angle), np.sin(angle)
        rot = np.array([[c, -s], [s, c]])
        return (layer_outline * np.asarray(half)) @ rot.T + center

    def _fill(self, polygon: np.ndarray) -> np.ndarray:
        cfg = self.config
        mask = np.zeros((cfg.height, cfg.width), np.uint8)
        # 4 fractional bits keep sub-pixel motion smooth.
        cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
        return mask.astype(bool)

    def _paint(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        texture: np.ndarray,
        center: np.ndarray,
        half: tuple[float, float],
        angle: float,
    ) -> None:
        cfg = self.config
        tsize = texture.shape[0] / 2.0
        c, s = np.cos(angle), np.sin(angle)
        linear = np.array([[c, -s], [s, c]]) @ np.diag(half) / tsize
        offset = center - linear @ np.array([tsize, tsize])
        warped = cv2.warpAffine(
            texture,
            np.hstack([linear, offset[:, None]]),
            (cfg.width, cfg.height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT101,
        )
        image[mask] = warped[mask]

    def _occluder_geometry(self, occ: Occluder, t: float) -> tuple[np.ndarray, tuple[float, float]] | None:
        u = occ.window.progress(t)
        if u is None:
            return None
        motion = self.objects[occ.target].motion
        radius = motion.max_radius(occ.window.start, occ.window.end)
        half = occ.half_size * radius
        travel = half + radius + 3
        center = motion.center(t).copy()
        center[occ.window.axis] += pass_offset(u) * travel * occ.window.sign
        center[1 - occ.window.axis] += occ.side_offset * radius
        return center, (half, half)

    def render(self, t: float, with_image: bool = True) -> FrameRender:
        """Draw the frame at time ``t``; without the image only the label map and measurements."""
        cfg = self.config
        k = len(self.objects)
        image = None
        if with_image:
            shift = -self.pan_velocity * t
            matrix = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
            image = cv2.warpAffine(
                self.background,
                matrix,
                (cfg.width, cfg.height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT101,
            )
            for layer in self.distractors:
                center, half, angle = layer.motion.center(t), layer.motion.half_sizes(t), layer.motion.angle(t)
                mask = self._fill(self._polygon(layer.outline, center, half, angle))
                self._paint(image, mask, layer.texture, center, half, angle)
        label = np.zeros((cfg.height, cfg.width), np.uint8)
        measures = {name: np.zeros(k) for name in ("unoccluded", "area")}
        cut = np.zeros(k, bool)
        started = np.array([t >= layer.start for layer in self.objects])
        centers, halves, angles = np.zeros((k, 2)), np.zeros((k, 2)), np.zeros(k)
        for i, layer in enumerate(self.objects):
            center, half, angle = layer.motion.center(t), layer.motion.half_sizes(t), layer.motion.angle(t)
            centers[i], halves[i], angles[i] = center, half, angle
            if not started[i]:
                continue
            polygon = self._polygon(layer.outline, center, half, angle)
            mask = self._fill(polygon)
            x, y = polygon[:, 0], polygon[:, 1]
            measures["area"][i] = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
            measures["unoccluded"][i] = mask.sum()
            cut[i] = x.min() < 0 or y.min() < 0 or x.max() > cfg.width or y.max() > cfg.height
            label[mask] = i + 1
            if image is not None:
                self._paint(image, mask, layer.texture, center, half, angle)
        for occ in self.occluders:
            geometry = self._occluder_geometry(occ, t)
            if geometry is None:
                continue
            center, half = geometry
            mask = self._fill(self._polygon(appearance.occluder_outline(), center, half, 0.0))
            label[mask] = 0
            if image is not None:
                self._paint(image, mask, occ.texture, center, half, 0.0)
        if image is not None:
            image = np.clip(image.astype(np.float32) * self.gain(t), 0, 255).astype(np.uint8)
        visible = np.bincount(label.ravel(), minlength=k + 1)[1 : k + 1].astype(float)
        return FrameRender(
            image, label, visible, measures["unoccluded"], measures["area"], cut, started, centers, halves, angles
        )

    def is_valid(self) -> bool:
        """Init frames show most of each object; without absence markers objects never vanish."""
        cfg = self.config
        required = set(cfg.keep_visible) | {layer.start for layer in self.objects}
        for f in range(cfg.num_frames):
            if f not in required and cfg.allow_absence:
                continue
            frame = self.render(float(f), with_image=False)
            for i, layer in enumerate(self.objects):
                if f < layer.start:
                    continue
                if f in required and frame.visible_pixels[i] < max(
                    MIN_VISIBLE_PIXELS, MIN_INIT_FRACTION * frame.full_area[i]
                ):
                    return False
                if not cfg.allow_absence and frame.visible_pixels[i] < MIN_VISIBLE_PIXELS:
                    return False
        return True


def _event_kinds(rng: np.random.Generator, config: SceneConfig, index: int) -> list[str]:
    allowed = (ABSENCE_EVENTS + ("partial_occlusion",)) if config.allow_absence else PRESENT_EVENTS
    first = allowed[(config.variant + index) % len(allowed)]
    return [first, str(rng.choice(allowed))]


def plan_scene(rng: np.random.Generator, config: SceneConfig) -> Scene:
    """Draw one random plan for ``config`` (may violate the init-visibility rule; see :func:`make_scene`)."""
    w, h, n = config.width, config.height, config.num_frames
    families = [appearance.random_family(rng) for _ in range(config.num_objects)]
    if config.num_objects > 1 and config.variant % 2 == 0:
        families[1] = families[0]  # two annotated objects that look alike
    taken: list[tuple[float, float]] = []
    objects = []
    for i, family in enumerate(families):
        start = 0
        if config.late_starts and i > 0 and rng.random() < 0.7 and n >= 6:
            start = int(rng.integers(max(1, n // 5), max(2, n // 2)))
        motion = random_motion(rng, w, h, fast=rng.random() < 0.25)
        keep = set(config.keep_visible) | {start}
        motion.events = schedule_events(
            rng,
            n,
            _event_kinds(rng, config, i)
            if i == 0
            else [
                str(rng.choice((ABSENCE_EVENTS + ("partial_occlusion",)) if config.allow_absence else PRESENT_EVENTS))
            ],
            keep,
            motion,
            taken,
        )
        motion.events = [ev for ev in motion.events if ev.start > start + 1]
        objects.append(Layer(appearance.random_outline(rng), appearance.object_texture(rng, family), motion, start))
    distractors = []
    count = config.distractors if config.distractors is not None else int(config.variant % 3 != 2)
    for _ in range(count):  # same texture family as the first object: similar, not identical
        motion = random_motion(rng, w, h, fast=False)
        distractors.append(Layer(appearance.random_outline(rng), appearance.object_texture(rng, families[0]), motion))
    occluders = []
    for i, layer in enumerate(objects):
        for ev in layer.motion.events:
            if ev.kind not in ("full_occlusion", "partial_occlusion"):
                continue
            texture = appearance.object_texture(rng, appearance.random_family(rng))
            if ev.kind == "full_occlusion":
                occluders.append(Occluder(ev, i, half_size=1.8, side_offset=0.0, texture=texture))
            else:
                occluders.append(
                    Occluder(ev, i, half_size=0.6, side_offset=float(rng.choice([-1.0, 1.0])) * 1.0, texture=texture)
                )
    background = appearance.background_texture(rng, int(h * 1.5), int(w * 1.5))
    pan = rng.uniform(-0.8, 0.8, size=2) if rng.random() < 0.8 else np.zeros(2)
    gain_amp = float(rng.choice([0.0, 0.0, 0.35]))
    return Scene(config, background, pan, gain_amp, float(rng.uniform(1 / 60, 1 / 30)), objects, distractors, occluders)


def make_scene(rng: np.random.Generator, config: SceneConfig, attempts: int = 30) -> Scene:
    """Plan scenes until one satisfies :meth:`Scene.is_valid` (deterministic for a generator state)."""
    if config.num_frames < 2:
        raise ValueError(f"num_frames must be at least 2, got {config.num_frames}")
    scene = plan_scene(rng, config)
    for _ in range(attempts - 1):
        if scene.is_valid():
            return scene
        scene = plan_scene(rng, config)
    # The last resort drops all events, which always leaves the objects visible.
    for layer in scene.objects:
        layer.motion.events = []
    scene.occluders = []
    return scene
