"""Writers of the synthetic street videos in the Cityscapes and CamVid (SegNet) layouts."""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from pytracking_ext.utils.io import atomic_write_bytes, atomic_write_text, imwrite_rgb

from ..data.labels import CITYSCAPES_NAME_TO_ID
from .street import make_street_scene

# Internal class -> annotation id. Cityscapes uses real labelIds (the hood is 'ego vehicle', an
# ignored id) so that loaders must apply the labelId -> trainId mapping; CamVid uses SegNet ids.
_CITYSCAPES_NAMES = (
    "sky",
    "building",
    "road",
    "sidewalk",
    "pole",
    "traffic sign",
    "vegetation",
    "car",
    "person",
    "ego vehicle",
)
CITYSCAPES_IDS = np.array([CITYSCAPES_NAME_TO_ID[n] for n in _CITYSCAPES_NAMES], np.uint8)
# sky, building, road, pavement, pole, sign, tree, car, pedestrian, void
CAMVID_IDS = np.array([0, 1, 3, 4, 2, 6, 5, 8, 9, 11], np.uint8)

CITIES = {
    "train": ("aachen", "bochum", "bremen", "cologne", "darmstadt"),
    "val": ("frankfurt", "lindau", "munster"),
    "test": ("berlin", "bielefeld", "bonn", "leverkusen", "mainz", "munich"),
}


@dataclass(frozen=True)
class StreetSpec:
    """Validated generation arguments."""

    videos: int
    frames: int
    size: tuple[int, int]  # (width, height)
    seed: int
    splits: tuple[str, ...]
    progress: bool = True

    def __post_init__(self) -> None:
        for name, value, minimum in (("videos", self.videos, 1), ("frames", self.frames, 1)):
            if not isinstance(value, (int, np.integer)) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if len(self.size) != 2 or min(self.size) < 16:
            raise ValueError(f"size must be (width, height) with both at least 16, got {self.size!r}")
        if not self.splits or any(not s or "/" in s or s != s.strip() for s in self.splits):
            raise ValueError(f"splits must be non-empty folder names, got {self.splits!r}")
        if len(set(self.splits)) != len(self.splits):
            raise ValueError(f"splits repeat: {self.splits!r}")

    def rng(self, split: str, video: int) -> np.random.Generator:
        """Generator of one video: depends on the seed, the split name and the index only."""
        return np.random.default_rng([int(self.seed) & 0xFFFFFFFF, zlib.crc32(split.encode()), video])

    def bar(self, desc: str) -> tqdm:
        return tqdm(
            total=self.videos * self.frames * len(self.splits),
            desc=desc,
            unit="frame",
            disable=not self.progress,
            leave=False,
        )


def split_names(split: str | Sequence[str]) -> tuple[str, ...]:
    """``"train,val"`` or ``["train", "val"]`` -> ``("train", "val")``."""
    parts = split.split(",") if isinstance(split, str) else list(split)
    return tuple(p.strip() for p in parts)


def prepare_output(out: Path, owned: Iterable[Path], overwrite: bool) -> None:
    """Refuse a non-empty ``out`` unless ``overwrite``; then remove only the paths this run writes."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"{out}: output folder is not empty (pass overwrite=True / --overwrite to replace the generated splits)"
            )
        for path in owned:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def write_label_png(path: Path, label: np.ndarray) -> None:
    """8-bit single-channel PNG holding the raw ids (no palette), written atomically."""
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(label.astype(np.uint8)))
    if not ok:
        raise OSError(f"{path}: cannot encode label PNG")
    atomic_write_bytes(path, encoded.tobytes())


def write_cityscapes(out: Path, spec: StreetSpec, annotated_index: int = 19, overwrite: bool = False) -> Path:
    """``leftImg8bit_sequence/<split>/<city>/...`` frames and ``gtFine`` labelIds of frame ``annotated_index``."""
    if not 0 <= annotated_index < spec.frames:
        raise ValueError(
            f"annotated_index {annotated_index} must lie in the snippet's frames 0..{spec.frames - 1} "
            f"(Cityscapes labels the 20th frame: use frames >= 20 or a smaller annotated_index)"
        )
    if annotated_index > 19 or spec.frames - annotated_index > 11:
        # Cityscapes snippets span the 20th frame's t0 - 19 .. t0 + 10; the loader checks that window.
        raise ValueError(
            f"a Cityscapes snippet holds at most 19 frames before and 10 after the annotated one, got "
            f"{annotated_index} before and {spec.frames - annotated_index - 1} after"
        )
    owned = [out / folder / split for split in spec.splits for folder in ("leftImg8bit_sequence", "gtFine")]
    prepare_output(out, owned, overwrite)
    width, height = spec.size
    with spec.bar("cityscapes") as bar:
        for split in spec.splits:
            cities = CITIES.get(split, ("synthcity",))
            for video in range(spec.videos):
                rng = spec.rng(split, video)
                city, sequence = cities[video % len(cities)], f"{video // len(cities):06d}"
                start = int(rng.integers(0, 1000))
                scene = make_street_scene(rng, width, height, spec.frames)
                frame_dir = out / "leftImg8bit_sequence" / split / city
                for index in range(spec.frames):
                    image, classes = scene.render(index)
                    stem = f"{city}_{sequence}_{start + index:06d}"
                    imwrite_rgb(frame_dir / f"{stem}_leftImg8bit.png", image)
                    if index == annotated_index:
                        write_label_png(
                            out / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", CITYSCAPES_IDS[classes]
                        )
                    bar.update()
    return out


def write_camvid(out: Path, spec: StreetSpec, label_step: int = 2, overwrite: bool = False) -> Path:
    """SegNet layout: ``<split>/<seq>_<frame>.png``, ``<split>annot/`` class ids, ``<split>.txt``, ``frames.csv``.

    Every generated frame is labelled; frame numbers advance by ``label_step`` (2: 15 Hz labels
    of a 30 Hz video, like val ``0016E5``).
    """
    if label_step < 1:
        raise ValueError(f"label_step must be >= 1, got {label_step}")
    owned = [out / f"{split}{suffix}" for split in spec.splits for suffix in ("", "annot", ".txt")]
    prepare_output(out, owned + [out / "frames.csv"], overwrite)
    width, height = spec.size
    rows = ["split,image,annotation,sequence,frame"]
    with spec.bar("camvid") as bar:
        for split in spec.splits:
            pairs = []
            for video in range(spec.videos):
                rng = spec.rng(split, video)
                sequence = f"SYN{video:03d}"
                start = int(rng.integers(0, 5000))
                scene = make_street_scene(rng, width, height, spec.frames)
                for index in range(spec.frames):
                    image, classes = scene.render(index)
                    number = start + index * label_step
                    name = f"{sequence}_{number:05d}.png"
                    imwrite_rgb(out / split / name, image)
                    write_label_png(out / f"{split}annot" / name, CAMVID_IDS[classes])
                    pairs.append(f"{split}/{name} {split}annot/{name}")
                    rows.append(f"{split},{split}/{name},{split}annot/{name},{sequence},{number}")
                    bar.update()
            atomic_write_text(out / f"{split}.txt", "".join(f"{p}\n" for p in pairs))
    atomic_write_text(out / "frames.csv", "".join(f"{r}\n" for r in rows))
    return out


__all__ = [
    "CAMVID_IDS",
    "CITIES",
    "CITYSCAPES_IDS",
    "StreetSpec",
    "prepare_output",
    "split_names",
    "write_camvid",
    "write_cityscapes",
    "write_label_png",
]
