"""What bf16 costs the segmenters: CamVid val mIoU in fp32 and bf16 with the same weights, same frames.

    OMP_NUM_THREADS=2 python benchmarks/precision_miou.py [--camvid ../shared/data/camvid]
        [--runs lmanet:lite0_camvid lmanet:lite0_camvid_single evs:evs07 evs:evs06]
        [--precisions fp32 bf16] [--max-frames N]

Each run streams the CamVid val frames in their recorded order (15 Hz, as the studies do) through
the parameter set's own (shipped) weights, once per precision, and prints mIoU, the share of pixels
whose label differs from the first precision's, and frames per second. ``bf16`` on a CPU without
native bf16 falls back to fp32 (docs/precision.md), which the table then shows as identical labels.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pytracking_ext.cli import OneLineParser
from segmentation_plugins.data import CAMVID, camvid_sequences
from segmentation_plugins.evaluation import ConfusionMatrix
from segmentation_plugins.registry import build_segmenter, segmenter_parameters

DEFAULT_CAMVID = Path(__file__).resolve().parents[2] / "shared" / "data" / "camvid"


def videos(camvid: str, max_frames: int | None) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """(frames, labels) of each CamVid val sequence in recorded order, ``max_frames`` in all at most."""
    out, left = [], max_frames if max_frames is not None else float("inf")
    for sequence in camvid_sequences(camvid, "val"):
        items = list(sequence)[: int(min(left, 1e9))]
        if items:
            out.append(([item["image"] for item in items], [item["label"] for item in items]))
        left -= len(items)
    return out


def segment(method: str, param: str, precision: str, clips) -> tuple[list[np.ndarray], float]:
    """Labels of every frame (a fresh state per sequence) and frames per second."""
    params = segmenter_parameters(method, param)
    params.precision = precision
    params.use_gpu = False
    labels, frames = [], sum(len(f) for f, _ in clips)
    with build_segmenter(method, params) as segmenter:
        start = time.perf_counter()
        for clip, _ in clips:
            segmenter.reset()
            labels.extend(output.labels for output in segmenter.segment_video(clip))
        return labels, frames / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(description=__doc__.split("\n")[0])
    parser.add_argument("--camvid", default=str(DEFAULT_CAMVID))
    parser.add_argument(
        "--runs", nargs="+", default=["lmanet:lite0_camvid", "lmanet:lite0_camvid_single", "evs:evs07", "evs:evs06"]
    )
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--max-frames", type=int, default=None)
    args = parser.parse_args(argv)
    clips = videos(args.camvid, args.max_frames)
    truth = [label for _, labels in clips for label in labels]
    print(f"CamVid val, {len(truth)} frames of {len(clips)} sequences in recorded order")
    print("| method / parameters | precision | mIoU | pixels labelled differently | FPS |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        method, param = run.split(":", 1)
        reference = None
        for precision in args.precisions:
            labels, fps = segment(method, param, precision, clips)
            matrix = ConfusionMatrix(CAMVID.num_classes)
            for predicted, label in zip(labels, truth, strict=True):
                matrix.update(predicted, label)
            reference = labels if reference is None else reference
            differ = np.mean([np.mean(a != b) for a, b in zip(labels, reference, strict=True)]) * 100
            print(f"| {method} {param} | {precision} | {100 * matrix.miou():.2f} | {differ:.3f} % | {fps:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
