"""Synthetic street videos in the Cityscapes and CamVid layouts, for tests and smoke runs of the plugins.

``generate_cityscapes(out, videos=2, frames=30, size=(256, 128), seed=0)`` (or
``python -m segmentation_plugins.synthetic --format cityscapes --out DIR ...``) renders a car
driving down a street: road with lane markings, sidewalks, a row of buildings and hedges, poles
with signs, cars (ahead, oncoming, parked) and walking people, under a cloudy sky, with forward
motion and a slow camera pan so that content moves between frames, and textured surfaces so that
optical flow has something to track. The same arguments give byte-identical files.

==========  =================================================================================
cityscapes  ``leftImg8bit_sequence/<split>/<city>/<city>_<seq>_<frame:06d>_leftImg8bit.png``
            (``frames`` per snippet, 20..30 with the default ``annotated_index`` 19, frame
            numbers starting at a random offset) and
            ``gtFine/<split>/<city>/<city>_<seq>_<frame:06d>_gtFine_labelIds.png`` for frame
            ``annotated_index`` (19 = the 20th) only, with real Cityscapes labelIds: road 7,
            sidewalk 8, building 11, pole 17, traffic sign 20, vegetation 21, sky 23, person 24,
            car 26 and the hood as 'ego vehicle' 1 (ignored in training and evaluation).
camvid      SegNet layout: ``<split>/<seq>_<frame:05d>.png``, ``<split>annot/`` with class ids
            (sky 0, building 1, pole 2, road 3, pavement 4, tree 5, sign 6, car 8, pedestrian 9,
            hood = void 11), ``<split>.txt`` with "image annotation" lines and ``frames.csv``
            (split, image, annotation, sequence, frame). Every frame is labelled; frame numbers
            step by ``label_step`` (2 = 15 Hz labels of a 30 Hz video).
==========  =================================================================================

A non-empty output folder is refused unless ``overwrite=True``; overwriting removes only what
this call writes (the requested splits' folders and lists, and ``frames.csv`` for CamVid).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .formats import StreetSpec, split_names, write_camvid, write_cityscapes
from .street import CLASS_NAMES, StreetScene, make_street_scene

FORMATS = ("cityscapes", "camvid")
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


def generate(format: str, out: str | Path, **options) -> Path:
    """``generate_cityscapes`` or ``generate_camvid`` by name."""
    if format not in FORMATS:
        raise ValueError(f"unknown format '{format}'; known formats: {', '.join(FORMATS)}")
    writer = generate_cityscapes if format == "cityscapes" else generate_camvid
    return writer(out, **options)


__all__ = [
    "CLASS_NAMES",
    "DEFAULT_SIZES",
    "FORMATS",
    "StreetScene",
    "generate",
    "generate_camvid",
    "generate_cityscapes",
    "make_street_scene",
]
