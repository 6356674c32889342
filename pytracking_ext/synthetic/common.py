"""Pieces shared by the format writers: options, per-object tracks, text helpers, tables."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..utils.boxes import mask_to_bbox
from ..utils.io import atomic_write_text
from .scene import FrameRender, Scene

VOT_REGIONS = ("rectangle", "polygon", "mask")
DAVIS_VERSIONS = (2016, 2017)


@dataclass(frozen=True)
class GenerationSpec:
    """Everything a format writer needs to know (validated in ``__post_init__``)."""

    num_sequences: int
    num_frames: int
    seed: int
    width: int = 320
    height: int = 240
    num_objects: int = 2
    vot_region: str = "rectangle"
    davis_version: int = 2017
    progress: bool = True
    #: unannotated look-alikes of the first object per video; None: one in two of every three videos
    distractors: int | None = None

    def __post_init__(self) -> None:
        checks = (
            ("num_sequences", self.num_sequences, 1),
            ("num_frames", self.num_frames, 2),
            ("width", self.width, 32),
            ("height", self.height, 32),
            ("num_objects", self.num_objects, 1),
        )
        for name, value, minimum in checks:
            if not isinstance(value, (int, np.integer)) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if self.num_objects > 255:
            raise ValueError(f"num_objects must be at most 255 (8-bit label PNGs), got {self.num_objects}")
        if self.vot_region not in VOT_REGIONS:
            raise ValueError(f"vot_region must be one of {', '.join(VOT_REGIONS)}, got {self.vot_region!r}")
        valid_count = isinstance(self.distractors, (int, np.integer)) and self.distractors >= 0
        if self.distractors is not None and not valid_count:
            raise ValueError(f"distractors must be an integer >= 0 or None, got {self.distractors!r}")
        if self.davis_version not in DAVIS_VERSIONS:
            raise ValueError(f"davis_version must be 2016 or 2017, got {self.davis_version!r}")

    def rng(self, *key: int) -> np.random.Generator:
        """Independent generator for one sequence; ``key`` identifies split and index."""
        return np.random.default_rng([int(self.seed) & 0xFFFFFFFF, *key])


@dataclass(frozen=True)
class GeneratedDataset:
    """Where a dataset was written and which setting should point at which folder."""

    root: Path
    setting: str
    setting_path: Path

    def export_line(self) -> str:
        from ..settings import EnvSettings

        return f"export {EnvSettings.variable(self.setting)}={self.setting_path.resolve()}"


@dataclass
class ObjectTrack:
    """Measured per-frame facts of one annotated object (arrays over the recorded frames)."""

    boxes: np.ndarray  # (T, 4) inclusive box of the visible mask; zeros where invisible
    visible_pixels: np.ndarray
    unoccluded_pixels: np.ndarray
    full_area: np.ndarray
    cut_by_image: np.ndarray
    started: np.ndarray
    center: np.ndarray
    half_sizes: np.ndarray
    angle: np.ndarray

    @property
    def visible(self) -> np.ndarray:
        return self.visible_pixels > 0

    @property
    def fully_occluded(self) -> np.ndarray:
        return self.started & (self.unoccluded_pixels > 0) & (self.visible_pixels == 0)

    @property
    def out_of_view(self) -> np.ndarray:
        return self.started & (self.unoccluded_pixels == 0)

    def cover_eighths(self) -> np.ndarray:
        """Visible fraction of the whole object in eighths (GOT-10k ``cover.label``); 0 only when invisible."""
        fraction = np.divide(
            self.visible_pixels, self.full_area, out=np.zeros(len(self.boxes)), where=self.full_area > 0
        )
        eighths = np.clip(np.round(8 * fraction), 1, 8).astype(int)
        return np.where(self.visible, eighths, 0)


@dataclass
class TrackRecorder:
    """Collects the measurements of rendered frames (images are not kept)."""

    frames: list[FrameRender] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)

    def add(self, frame: FrameRender) -> None:
        k = len(frame.visible_pixels)
        boxes = np.zeros((k, 4))
        for i in range(k):
            if frame.visible_pixels[i] > 0:
                boxes[i] = mask_to_bbox(frame.label == i + 1)
        self.boxes.append(boxes)
        self.frames.append(
            FrameRender(
                None,
                np.empty((0, 0), np.uint8),
                *[
                    getattr(frame, name)
                    for name in (
                        "visible_pixels",
                        "unoccluded_pixels",
                        "full_area",
                        "cut_by_image",
                        "started",
                        "center",
                        "half_sizes",
                        "angle",
                    )
                ],
            )
        )

    def track(self, index: int = 0, frames: slice = slice(None)) -> ObjectTrack:
        """The track of object ``index`` (0 = id 1) over the recorded frames ``frames``."""
        chosen = self.frames[frames]
        pick = lambda name: np.array([getattr(f, name)[index] for f in chosen])  # noqa: E731
        return ObjectTrack(
            np.array([b[index] for b in self.boxes[frames]]).reshape(-1, 4),
            pick("visible_pixels"),
            pick("unoccluded_pixels"),
            pick("full_area"),
            pick("cut_by_image"),
            pick("started"),
            pick("center"),
            pick("half_sizes"),
            pick("angle"),
        )


def render_frames(scene: Scene, times: Iterable[float], recorder: TrackRecorder) -> Iterator[FrameRender]:
    """Render ``scene`` at ``times``, recording measurements; yields frames with images."""
    for t in times:
        frame = scene.render(float(t))
        recorder.add(frame)
        yield frame


def progress(items: Sequence, desc: str, spec: GenerationSpec) -> Iterable:
    """A tqdm bar over sequences (silent when ``spec.progress`` is False)."""
    return tqdm(items, desc=desc, unit="seq", disable=not spec.progress, leave=False)


def format_number(value: float, decimals: int | None = None) -> str:
    """Integers plainly; with ``decimals``, fixed-point (GOT-10k writes 4 decimals)."""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def box_lines(
    boxes: np.ndarray,
    delimiter: str = ",",
    decimals: int | None = None,
    absent: np.ndarray | None = None,
    absent_text: str | None = None,
) -> list[str]:
    """One ``x,y,w,h`` line per box; rows flagged in ``absent`` become ``absent_text`` when given."""
    lines = []
    for i, box in enumerate(boxes):
        if absent is not None and absent_text is not None and absent[i]:
            lines.append(absent_text)
        else:
            lines.append(delimiter.join(format_number(v, decimals) for v in box))
    return lines


def write_lines(path: Path, lines: Sequence[str]) -> None:
    """Text file with one entry per line and a final newline."""
    atomic_write_text(path, "".join(f"{line}\n" for line in lines))


def write_json(path: Path, data: object) -> None:
    """Pretty, stable JSON (same input -> same bytes)."""
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")


def write_sequence_table(root: Path, dataset: str, entries: list[dict]) -> None:
    """``<root>/sequence_table.json``: the generated dataset's own table (replaces the built-in one)."""
    write_json(root / "sequence_table.json", {"dataset": dataset, "sequences": entries})
