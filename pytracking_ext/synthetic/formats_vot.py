"""Writer for the VOT toolkit workspace layout (rectangle, rotated-polygon or RLE-mask ground truth)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..utils.boxes import mask_to_bbox
from ..utils.io import imwrite_rgb
from ..utils.vot_region import encode_mask, encode_polygon, encode_rectangle
from .common import GeneratedDataset, GenerationSpec, TrackRecorder, progress, render_frames, write_lines
from .formats_sot import JPEG_QUALITY
from .names import VOT2018, take_names
from .scene import SceneConfig, make_scene


def rotated_polygon(mask: np.ndarray, angle: float) -> np.ndarray:
    """Corners (4, 2) of the smallest rectangle at ``angle`` enclosing every pixel square of ``mask``.

    At angle 0 its min/max box equals :func:`mask_to_bbox` (pixel ``x`` spans ``[x, x + 1)``).
    """
    ys, xs = np.nonzero(mask)
    corners = np.concatenate([np.stack([xs + dx, ys + dy], axis=1) for dx in (0, 1) for dy in (0, 1)]).astype(float)
    c, s = np.cos(angle), np.sin(angle)
    axes = np.array([[c, s], [-s, c]])  # rows: the rectangle's axes
    proj = corners @ axes.T
    (u0, v0), (u1, v1) = proj.min(axis=0), proj.max(axis=0)
    rect = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]])
    return rect @ axes


def _rectangle(mask: np.ndarray, angle: float) -> str:
    return encode_rectangle(mask_to_bbox(mask))


def _polygon(mask: np.ndarray, angle: float) -> str:
    return encode_polygon(rotated_polygon(mask, angle))


def _mask(mask: np.ndarray, angle: float) -> str:
    return encode_mask(mask)


REGION_ENCODERS: dict[str, Callable[[np.ndarray, float], str]] = {
    "rectangle": _rectangle,
    "polygon": _polygon,
    "mask": _mask,
}


def _sequence_metadata(name: str, spec: GenerationSpec) -> list[str]:
    return [
        "channels.color=color/%08d.jpg",
        "format=default",
        "fps=30",
        f"height={spec.height}",
        f"name={name}",
        f"width={spec.width}",
    ]


def write_vot(out: Path, spec: GenerationSpec) -> GeneratedDataset:
    """``sequences/list.txt``, ``sequences/<seq>/{sequence, color/%08d.jpg, groundtruth.txt, occlusion.tag}``.

    The target only vanishes in ``mask`` mode, where an empty mask (``m0,0,0,0,0``) marks it;
    rectangles and polygons have no absence code in VOT short-term ground truth.
    """
    names = take_names(VOT2018, spec.num_sequences, lambda i: f"synthetic{i + 1}")
    encode = REGION_ENCODERS[spec.vot_region]
    sequences = out / "sequences"
    for index, name in enumerate(progress(names, "vot", spec)):
        folder = sequences / name
        config = SceneConfig(
            spec.width,
            spec.height,
            spec.num_frames,
            1,
            spec.vot_region == "mask",
            frozenset({0}),
            False,
            index,
            spec.distractors,
        )
        scene = make_scene(spec.rng(7, index), config)
        recorder = TrackRecorder()
        regions = []
        for f, frame in enumerate(render_frames(scene, range(spec.num_frames), recorder)):
            imwrite_rgb(folder / "color" / f"{f + 1:08d}.jpg", frame.image, quality=JPEG_QUALITY)
            regions.append(encode(frame.label == 1, float(frame.angle[0])))
        track = recorder.track(0)
        occluded = track.started & (track.visible_pixels < 0.95 * track.unoccluded_pixels)
        write_lines(folder / "groundtruth.txt", regions)
        write_lines(folder / "occlusion.tag", [str(int(v)) for v in occluded])
        write_lines(folder / "sequence", _sequence_metadata(name, spec))
    write_lines(sequences / "list.txt", names)
    write_lines(out / "list.txt", names)
    return GeneratedDataset(out, "vot_path", sequences)
