"""Tiny hand-made sequences for runner tests (independent of the synthetic benchmark generator)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pytracking_ext.evaluation.data import Sequence
from pytracking_ext.utils.boxes import mask_to_bbox
from pytracking_ext.utils.io import imwrite_indexed, imwrite_rgb


def moving_square_sequence(
    folder: Path,
    name: str = "seq",
    frames: int = 6,
    size=(64, 80),
    objects: int = 1,
    with_masks: bool = False,
    seed: int = 0,
) -> Sequence:
    """Textured squares moving right on a noisy background; boxes (and masks) are exact."""
    rng = np.random.default_rng(seed)
    h, w = size
    background = rng.integers(0, 80, size=(h, w, 3), dtype=np.uint8)
    textures = [rng.integers(150, 255, size=(14, 14, 3), dtype=np.uint8) for _ in range(objects)]
    seq_dir = folder / name
    paths, masks, boxes = [], [], {str(i + 1): [] for i in range(objects)}
    for t in range(frames):
        image = background.copy()
        label = np.zeros((h, w), np.uint8)
        for i in range(objects):
            x, y = 5 + 3 * t + 30 * i, 10 + 20 * i
            image[y : y + 14, x : x + 14] = textures[i]
            label[y : y + 14, x : x + 14] = i + 1
            boxes[str(i + 1)].append(mask_to_bbox(label == i + 1))
        path = seq_dir / f"{t:05d}.jpg"
        imwrite_rgb(path, image)
        paths.append(str(path))
        if with_masks:
            mask_path = seq_dir / "masks" / f"{t:05d}.png"
            imwrite_indexed(mask_path, label)
            masks.append(str(mask_path))
    if objects == 1:
        return Sequence(name, paths, "test", np.asarray(boxes["1"]), ground_truth_seg=masks or None)
    gt = {oid: np.asarray(b) for oid, b in boxes.items()}
    return Sequence(name, paths, "test", gt, ground_truth_seg=masks or None, object_ids=list(gt), multiobj_mode=True)


def write_square_video(
    path: Path,
    frames: int,
    size: tuple[int, int],
    side: int,
    start: tuple[int, int],
    step: int,
    seed: int,
) -> Path:
    """An mp4v video (as OpenCV writes it) of a textured ``side`` px square moving right by ``step`` px
    per frame from ``start`` ``(x, y)`` over a noisy background; returns ``path``."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = size
    background = rng.integers(0, 80, size=(h, w, 3), dtype=np.uint8)
    texture = rng.integers(150, 255, size=(side, side, 3), dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (w, h))
    x0, y = start
    for t in range(frames):
        image = background.copy()
        image[y : y + side, x0 + step * t : x0 + step * t + side] = texture
        writer.write(image)
    writer.release()
    return path
