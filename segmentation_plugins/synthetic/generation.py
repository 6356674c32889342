"""Write synthetic street videos in the Cityscapes or CamVid layout (the formats: see the package docs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .formats import StreetSpec, split_names, write_camvid, write_cityscapes

DEFAULT_SIZES = {"cityscapes": (512, 256), "camvid": (480, 360)}


def generate_cityscapes(
    out: str | Path,
    videos: int = 2,
    frames: int = 30,
    size: tuple[int, int] = (512, 256),
    seed: int = 0,
    split: str | Sequence[str] = "train",
    annotated_index: int = 19,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write ``videos`` snippets of ``frames`` frames per split in the Cityscapes video layout; returns ``out``."""
    spec = StreetSpec(videos, frames, tuple(size), seed, split_names(split), progress)
    return write_cityscapes(Path(out), spec, annotated_index, overwrite)


def generate_camvid(
    out: str | Path,
    videos: int = 2,
    frames: int = 30,
    size: tuple[int, int] = (480, 360),
    seed: int = 0,
    split: str | Sequence[str] = "train",
    label_step: int = 2,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write ``videos`` sequences of ``frames`` labelled frames per split in the SegNet CamVid layout.

    Returns ``out``.
    """
    spec = StreetSpec(videos, frames, tuple(size), seed, split_names(split), progress)
    return write_camvid(Path(out), spec, label_step, overwrite)


# format name -> writer; FORMATS keeps the order of the --format choices
_GENERATORS: dict[str, Callable[..., Path]] = {"cityscapes": generate_cityscapes, "camvid": generate_camvid}
FORMATS = tuple(_GENERATORS)


def generate(format: str, out: str | Path, **options) -> Path:
    """``generate_cityscapes`` or ``generate_camvid`` by name."""
    if format not in _GENERATORS:
        raise ValueError(f"unknown format '{format}'; known formats: {', '.join(FORMATS)}")
    return _GENERATORS[format](out, **options)
