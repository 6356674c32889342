"""First-frame mask quality of the RTS box-only initialisation methods on a DAVIS 2016 layout folder.

    python benchmarks/box_init_quality.py [--davis ROOT [ROOT ...]] [--methods box,grabcut] [--repeat 3]
        [--grabcut-variants 2x300 3x480] [--refined-by rts:rts_small rts:rts_small_fast]

For every sequence, the tight box of the first-frame ground truth is turned into a mask by each
method; prints a markdown table of the IoU (J) with the ground truth and the time per call.
``--grabcut-variants ITERxSIDE ...`` adds GrabCut with other iteration counts and crop sides;
``--refined-by TRACKER:PARAM ...`` adds the mask a tracker starts from after its own box-init
refinement (RTS: GrabCut refined by its first-frame segmentation, docs/rts.md C.10).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pytracking_ext.cli import int_pair
from pytracking_ext.evaluation.tracker_factory import build_tracker
from pytracking_ext.evaluation.tracker_spec import parse_tracker_arg
from pytracking_ext.trackers.rts.box_init import BOX_INIT_METHODS, grabcut_mask
from pytracking_ext.utils.io import imread_rgb

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DAVIS = REPO_ROOT.parent / "shared" / "data" / "davis2016"


def tight_box(mask: np.ndarray) -> list[float]:
    """``[x, y, w, h]`` of the non-zero pixels, with ``w = x_max - x_min + 1``."""
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


def read_object_mask(path: Path) -> np.ndarray:
    """The object pixels of an annotation: palette index > 0 (DAVIS 2017 style), else grey > 127
    (DAVIS 2016's 0/255 masks)."""
    image = Image.open(path)
    if image.mode == "P":
        return np.asarray(image) > 0
    return np.asarray(image.convert("L")) > 127


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


def grabcut_variant(text: str):
    """``'3x480'``: GrabCut with 3 iterations on a crop of at most 480 pixels."""
    iterations, side = int_pair("--grabcut-variants (ITERxSIDE)", "3x480")(text)
    return f"grabcut_{iterations}x{side}", functools.partial(grabcut_mask, iterations=iterations, max_side=side)


def refined_by(text: str):
    """``'rts:rts_small'``: the first-frame mask that tracker returns when started from the box."""
    try:
        (spec,) = parse_tracker_arg(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--refined-by: {err} (one run)") from None

    def start(image: np.ndarray, box: list[float]) -> np.ndarray:
        out = build_tracker(spec, multiobject=False).initialize(image, {"init_bbox": list(box)}) or {}
        if "segmentation" not in out:
            sys.exit(f"error: --refined-by {text}: the tracker returns no first-frame segmentation for a box")
        return np.asarray(out["segmentation"])

    return f"refined_{spec.param}", start


def timed_call(image: np.ndarray, box: list[float], method, repeat: int) -> tuple[np.ndarray, float]:
    """The mask of ``method(image, box)`` and the median seconds per call (the first call is a
    warm-up and not timed)."""
    mask = method(image, box)
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        method(image, box)
        seconds.append(time.perf_counter() - start)
    return mask, statistics.median(seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--davis",
        type=Path,
        nargs="+",
        default=[DEFAULT_DAVIS],
        help=f"DAVIS 2016 layout roots (default: {DEFAULT_DAVIS})",
    )
    parser.add_argument(
        "--methods",
        default="box,grabcut",
        help=f"comma-separated methods out of: {', '.join(sorted(BOX_INIT_METHODS))}",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per method and sequence")
    parser.add_argument(
        "--grabcut-variants", type=grabcut_variant, nargs="*", default=[], help="extra GrabCut runs, ITERxSIDE"
    )
    parser.add_argument(
        "--refined-by", type=refined_by, nargs="*", default=[], help="trackers whose box-init mask to score"
    )
    args = parser.parse_args(argv)

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in BOX_INIT_METHODS]
    if not methods or unknown:
        sys.exit(f"error: unknown method(s) {unknown or methods}; known: {', '.join(sorted(BOX_INIT_METHODS))}")
    frames = []
    for root in args.davis:
        if not (root / "JPEGImages" / "480p").is_dir() or not (root / "Annotations" / "480p").is_dir():
            sys.exit(
                f"error: no DAVIS 2016 folder at {root} (expected JPEGImages/480p and Annotations/480p); "
                "pass --davis ROOT"
            )
        found = first_frames(root)
        if not found:
            sys.exit(f"error: no sequence in {root} has JPEGImages/480p/<seq>/00000.jpg and its annotation")
        frames += found
    runs = {m: BOX_INIT_METHODS[m] for m in methods} | dict(args.grabcut_variants) | dict(args.refined_by)
    methods = list(runs)

    rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
    for name, image_path, annotation_path in frames:
        image = imread_rgb(image_path)
        truth = read_object_mask(annotation_path)
        if not truth.any():
            print(f"note: {name}: empty first-frame annotation, skipped", file=sys.stderr)
            continue
        box = tight_box(truth)
        scores, times = {}, {}
        for method in methods:
            mask, seconds = timed_call(image, box, runs[method], max(1, args.repeat))
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
