"""The best J&F a segmenter that cannot resolve thin structures can reach on DAVIS clips.

    python benchmarks/thin_structure_ceiling.py [--davis ROOT] [--widths 3 5 7 9] [--crop 288x160]

Each ground-truth mask is opened (eroded, then dilated) with a ``k x k`` square: every part
narrower than ``k`` pixels disappears and the rest stays as it is. Scoring the opened masks
against the ground truth, with the benchmark's own J and F (pytracking_ext.analysis.vos_metrics),
gives the ceiling of a segmenter whose finest detail is ``k`` image pixels. The table also gives,
for the first frame, how many image pixels one pixel of the tracker's crop covers (the crop's side
is ``search_area_scale`` times the target's, shrunk to fit inside the image the way
``border_mode='inside_major'`` does, docs/rts.md C.2): a network whose masks resolve about two
crop pixels has a ceiling near ``k = 2 x`` that figure.

Why it exists: issue 19 asks for J&F >= 65 on kite-surf, whose ground truth includes the kite's
lines, 2-4 pixels wide across half the frame (docs/results.md, "Quality of the shipped small
network").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from pytracking_ext.analysis.vos_metrics import evaluate_objects
from pytracking_ext.cli import int_pair
from pytracking_ext.trackers.rts.geometry import fitted_sample_size, search_scale

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DAVIS = REPO_ROOT.parent / "shared" / "data" / "davis2016"


def opened(mask: np.ndarray, width: int) -> np.ndarray:
    """``mask`` without the parts narrower than ``width`` pixels (morphological opening)."""
    kernel = np.ones((width, width), np.uint8)
    return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)


def image_pixels_per_crop_pixel(mask: np.ndarray, crop_wh: tuple[int, int], search_area_scale: float = 6.0) -> float:
    """Image pixels per crop pixel for a target with this mask (its tight box), as the tracker crops
    it: :func:`search_scale` sizes the crop, :func:`fitted_sample_size` shrinks it into the image."""
    ys, xs = np.nonzero(mask)
    size = torch.tensor([ys.max() - ys.min() + 1, xs.max() - xs.min() + 1], dtype=torch.float32)
    output = torch.tensor([crop_wh[1], crop_wh[0]], dtype=torch.float32)
    crop = output * search_scale(size, search_area_scale, output)
    fitted = fitted_sample_size(crop, mask.shape, "inside_major")
    return float(fitted.prod().sqrt() / output.prod().sqrt())


def sequence_ceiling(masks: list[np.ndarray], width: int, name: str) -> tuple[float, float]:
    """Mean J and F (in percent) of the opened masks over the frames the benchmark scores."""
    scores = evaluate_objects(name, masks, [opened(m, width) for m in masks], {"1": 0})[0]
    return 100 * scores.j_stats.mean, 100 * scores.f_stats.mean


def load_masks(root: Path, sequence: str) -> list[np.ndarray]:
    folder = root / "Annotations" / "480p" / sequence
    return [(np.array(Image.open(p)) > 0).astype(np.uint8) for p in sorted(folder.glob("*.png"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--davis", type=Path, default=DEFAULT_DAVIS, help="DAVIS 2016 layout folder")
    parser.add_argument("--widths", type=int, nargs="+", default=[3, 5, 7, 9], help="opening widths in pixels")
    parser.add_argument(
        "--crop", type=int_pair("--crop", "288x160"), default=(288, 160), help="the tracker's crop, WxH"
    )
    args = parser.parse_args(argv)
    folder = args.davis / "Annotations" / "480p"
    if not folder.is_dir():
        print(f"error: {folder} does not exist (--davis)", file=sys.stderr)
        return 2
    sequences = sorted(p.name for p in folder.iterdir() if p.is_dir())
    head = " | ".join(f"J&F at k = {k}" for k in args.widths)
    print(f"| clip | image px per crop px ({args.crop[0]}x{args.crop[1]}, frame 0) | {head} |")
    print("|---|---:|" + "---:|" * len(args.widths))
    for sequence in sequences:
        masks = load_masks(args.davis, sequence)
        ratio = image_pixels_per_crop_pixel(masks[0], args.crop)
        cells = []
        for k in args.widths:
            j, f = sequence_ceiling(masks, k, sequence)
            cells.append(f"{(j + f) / 2:.1f} (J {j:.1f}, F {f:.1f})")
        print(f"| {sequence} | {ratio:.2f} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
