"""First-frame mask quality of the RTS box-only initialisation methods on a DAVIS 2016 layout folder.

    python benchmarks/box_init_quality.py [--davis ROOT] [--methods box,grabcut] [--repeat 3]

For every sequence, the tight box of the first-frame ground truth is turned into a mask by each
method; prints a markdown table of the IoU (J) with the ground truth and the time per call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pytracking_ext.trackers.rts.box_init import BOX_INIT_METHODS, box_to_mask
from pytracking_ext.utils.io import imread_rgb

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DAVIS = REPO_ROOT.parent / "shared" / "data" / "davis2016"


def tight_box(mask: np.ndarray) -> list[float]:
    """``[x, y, w, h]`` of the non-zero pixels, with ``w = x_max - x_min + 1``."""
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


def iou(prediction: np.ndarray, truth: np.ndarray) -> float:
    prediction, truth = prediction.astype(bool), truth.astype(bool)
    union = int((prediction | truth).sum())
    return 1.0 if union == 0 else int((prediction & truth).sum()) / union


def first_frames(root: Path) -> list[tuple[str, Path, Path]]:
    """``(sequence, image, annotation)`` of each sequence that has both first-frame files."""
    frames = []
    for folder in sorted(p for p in (root / "JPEGImages" / "480p").iterdir() if p.is_dir()):
        image = folder / "00000.jpg"
        annotation = root / "Annotations" / "480p" / folder.name / "00000.png"
        if image.is_file() and annotation.is_file():
            frames.append((folder.name, image, annotation))
    return frames


def timed_call(image: np.ndarray, box: list[float], method: str, repeat: int) -> tuple[np.ndarray, float]:
    """The mask and the median seconds per call (the first call is a warm-up and not timed)."""
    mask = box_to_mask(image, box, method)
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        box_to_mask(image, box, method)
        seconds.append(time.perf_counter() - start)
    return mask, statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--davis", type=Path, default=DEFAULT_DAVIS, help=f"DAVIS 2016 layout root (default: {DEFAULT_DAVIS})"
    )
    parser.add_argument(
        "--methods",
        default="box,grabcut",
        help=f"comma-separated methods out of: {', '.join(sorted(BOX_INIT_METHODS))}",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per method and sequence")
    args = parser.parse_args()

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in BOX_INIT_METHODS]
    if not methods or unknown:
        sys.exit(f"error: unknown method(s) {unknown or methods}; known: {', '.join(sorted(BOX_INIT_METHODS))}")
    root = args.davis
    if not (root / "JPEGImages" / "480p").is_dir() or not (root / "Annotations" / "480p").is_dir():
        sys.exit(
            f"error: no DAVIS 2016 folder at {root} (expected JPEGImages/480p and Annotations/480p); pass --davis ROOT"
        )
    frames = first_frames(root)
    if not frames:
        sys.exit(f"error: no sequence in {root} has JPEGImages/480p/<seq>/00000.jpg and its annotation")

    rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
    for name, image_path, annotation_path in frames:
        image = imread_rgb(image_path)
        truth = np.asarray(Image.open(annotation_path).convert("L")) > 127
        if not truth.any():
            print(f"note: {name}: empty first-frame annotation, skipped", file=sys.stderr)
            continue
        box = tight_box(truth)
        scores, times = {}, {}
        for method in methods:
            mask, seconds = timed_call(image, box, method, max(1, args.repeat))
            scores[method], times[method] = iou(mask, truth), seconds
        rows.append((name, scores, times))

    header = ["sequence"] + [f"J {m}" for m in methods] + [f"ms/call {m}" for m in methods]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for name, scores, times in rows:
        cells = [f"{scores[m]:.3f}" for m in methods] + [f"{1000 * times[m]:.1f}" for m in methods]
        print(f"| {name} | " + " | ".join(cells) + " |")
    means = [f"**{np.mean([r[1][m] for r in rows]):.3f}**" for m in methods]
    means += [f"**{1000 * np.mean([r[2][m] for r in rows]):.1f}**" for m in methods]
    print("| **mean** | " + " | ".join(means) + " |")


if __name__ == "__main__":
    main()
