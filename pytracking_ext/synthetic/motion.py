"""Object motion in continuous frame time: smooth paths, scale/aspect/rotation change, events.

Time ``t`` is measured in frames of the generated sequence and may be fractional (YouTube-VOS
renders its 30 fps ``valid_all_frames`` at ``t = k / 5``). Every function of ``t`` is smooth, so the
same plan sampled more densely gives the in-between frames.

Events are windows ``[start, end]`` in which something happens to one object:

* ``full_occlusion``: a board larger than the object slides over it, rests in front, leaves;
* ``partial_occlusion``: a smaller board slides past one side of the object;
* ``out_of_view``: the object leaves the image completely and comes back;
* ``border_cut``: the object moves half out of the image and comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ABSENCE_EVENTS = ("full_occlusion", "out_of_view")
PRESENT_EVENTS = ("partial_occlusion", "border_cut")


@dataclass(frozen=True)
class Window:
    """An event of ``kind`` between frame times ``start`` and ``end``; ``axis``/``sign`` give its direction."""

    kind: str
    start: float
    end: float
    axis: int
    sign: float

    def progress(self, t: float) -> float | None:
        """0..1 inside the window, None outside."""
        if t < self.start or t > self.end:
            return None
        return (t - self.start) / (self.end - self.start)


def _ease(u: float) -> float:
    return 0.5 - 0.5 * np.cos(np.pi * min(max(u, 0.0), 1.0))


def excursion_weight(u: float) -> float:
    """0 -> 1 over the first 35 %, 1 for the middle, back to 0 over the last 35 % (smooth)."""
    if u < 0.35:
        return _ease(u / 0.35)
    if u > 0.65:
        return _ease((1.0 - u) / 0.35)
    return 1.0


def pass_offset(u: float) -> float:
    """Occluder position along its path in [-1, 1]; it rests at 0 during the middle fifth."""
    if u < 0.4:
        return -1.0 + _ease(u / 0.4)
    if u > 0.6:
        return _ease((u - 0.6) / 0.4)
    return 0.0


@dataclass
class Motion:
    """Smooth path of an object's centre and its half-sizes and rotation as functions of ``t``."""

    center0: np.ndarray
    amplitude: np.ndarray
    frequency: np.ndarray
    phase: np.ndarray
    size0: float
    scale_amp: float
    scale_freq: float
    scale_phase: float
    aspect0: float
    aspect_amp: float
    aspect_freq: float
    aspect_phase: float
    angle0: float
    angular_velocity: float
    frame_size: tuple[int, int]
    events: list[Window] = field(default_factory=list)

    def base_center(self, t: float) -> np.ndarray:
        wave = np.sin(2 * np.pi * self.frequency * t + self.phase) - np.sin(self.phase)
        return self.center0 + self.amplitude * wave

    def half_sizes(self, t: float) -> tuple[float, float]:
        scale = self.size0 * np.exp(
            self.scale_amp * (np.sin(2 * np.pi * self.scale_freq * t + self.scale_phase) - np.sin(self.scale_phase))
        )
        aspect = self.aspect0 * np.exp(
            self.aspect_amp * (np.sin(2 * np.pi * self.aspect_freq * t + self.aspect_phase) - np.sin(self.aspect_phase))
        )
        return float(scale * np.sqrt(aspect)), float(scale / np.sqrt(aspect))

    def angle(self, t: float) -> float:
        return self.angle0 + self.angular_velocity * t

    def max_radius(self, start: float, end: float) -> float:
        ts = np.linspace(start, end, 9)
        return max(max(self.half_sizes(t)) for t in ts)

    def center(self, t: float) -> np.ndarray:
        """Base path, pulled towards a point outside the image during out-of-view events."""
        c = self.base_center(t)
        for ev in self.events:
            u = ev.progress(t)
            if u is None or ev.kind not in ("out_of_view", "border_cut"):
                continue
            target = self._outside_point(ev)
            w = excursion_weight(u)
            c = (1 - w) * c + w * target
        return c

    def _outside_point(self, ev: Window) -> np.ndarray:
        mid = 0.5 * (ev.start + ev.end)
        point = self.base_center(mid).copy()
        limit = self.frame_size[ev.axis]
        reach = 1.4 * self.max_radius(ev.start, ev.end) + 2 if ev.kind == "out_of_view" else 0.0
        point[ev.axis] = (limit + reach) if ev.sign > 0 else -reach
        return point


def random_motion(rng: np.random.Generator, width: int, height: int, fast: bool) -> Motion:
    """A path that stays inside the image (events aside), with random scale/aspect/rotation change."""
    size0 = rng.uniform(0.09, 0.16) * min(width, height)
    margin = np.array([size0 * 1.6, size0 * 1.6])
    frame = np.array([width, height], dtype=float)
    center0 = rng.uniform(0.3, 0.7, size=2) * frame
    room = np.maximum(np.minimum(center0 - margin, frame - margin - center0), 1.0)
    if fast:
        amplitude = room * rng.uniform(0.6, 1.0, size=2) / 2
        frequency = rng.uniform(1 / 10, 1 / 6, size=2)
    else:
        amplitude = room * rng.uniform(0.2, 1.0, size=2) / 2
        frequency = rng.uniform(1 / 90, 1 / 30, size=2)
    return Motion(
        center0=center0,
        amplitude=amplitude,
        frequency=frequency,
        phase=rng.uniform(0, 2 * np.pi, size=2),
        size0=float(size0),
        scale_amp=float(rng.choice([0.08, 0.2, 0.45])),
        scale_freq=float(rng.uniform(1 / 70, 1 / 35)),
        scale_phase=float(rng.uniform(0, 2 * np.pi)),
        aspect0=float(rng.uniform(0.6, 1.6)),
        aspect_amp=float(rng.choice([0.05, 0.15, 0.45])),
        aspect_freq=float(rng.uniform(1 / 70, 1 / 35)),
        aspect_phase=float(rng.uniform(0, 2 * np.pi)),
        angle0=float(rng.uniform(0, np.pi)),
        angular_velocity=float(rng.uniform(-0.03, 0.03)),
        frame_size=(width, height),
    )


def event_length(num_frames: int) -> int:
    """Window length in frames: about a quarter of the sequence, between 6 and 40."""
    return int(min(40, max(6, round(0.25 * num_frames))))


def schedule_events(
    rng: np.random.Generator,
    num_frames: int,
    kinds: list[str],
    keep_visible: set[int],
    motion: Motion,
    taken: list[tuple[float, float]],
) -> list[Window]:
    """Place one window per entry of ``kinds`` where it fits.

    Windows stay clear of frames in ``keep_visible`` (init frames must show the object) and of
    the intervals in ``taken`` (windows already used by other objects of the scene, so events do
    not pile up); kinds that no longer fit are skipped. New windows are appended to ``taken``.
    """
    length = event_length(num_frames)
    windows: list[Window] = []
    for kind in kinds:
        starts = [
            s
            for s in range(2, num_frames - length - 1)
            if not any(s - 1 <= k <= s + length + 1 for k in keep_visible)
            and not any(s <= b + 1 and s + length >= a - 1 for a, b in taken)
        ]
        if not starts:
            continue
        start = int(rng.choice(starts))
        center = motion.base_center(start + length / 2)
        axis = int(rng.integers(0, 2))
        sign = 1.0 if center[axis] > motion.frame_size[axis] / 2 else -1.0
        windows.append(Window(kind, float(start), float(start + length), axis, sign))
        taken.append((start, start + length))
    return windows
