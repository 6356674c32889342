"""Re-detection on/off on generated videos where the target leaves the view and comes back.

    python benchmarks/rts_redetection.py [--params rts_small rts_small_redetect] [--sequences 24 --frames 120]

Generates LaSOT-format videos (``pytracking_ext.synthetic``; each video's events are random),
keeps those with an out-of-view stretch, runs every parameter set of the ``rts`` tracker on them
and prints the success AUC over all frames (target-absent frames excluded, as LaSOT scores), the
AUC on the frames after the target's first return, the number of accepted re-detections and the
time per frame. Parameter sets that load a network from ``network_path`` need
``PYTRACKING_NETWORK_PATH``; ``rts_small*`` use the shipped network.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pytracking_ext.analysis.box_metrics import average_curves, scores_from_curves, sequence_curves, sequence_errors
from pytracking_ext.datasets import get_dataset
from pytracking_ext.evaluation.running import build_tracker, track_frames
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.synthetic import generate
from pytracking_ext.utils.io import imread_rgb


def first_return(visible: np.ndarray) -> int | None:
    """Index of the first visible frame after the first invisible one (None: never leaves)."""
    hidden = np.flatnonzero(~visible)
    if len(hidden) == 0:
        return None
    back = np.flatnonzero(visible[hidden[0]:])
    return int(hidden[0] + back[0]) if len(back) else None


def run(spec: TrackerSpec, seq) -> tuple[np.ndarray, int, float]:
    tracker = build_tracker(spec, seq)
    accepted = []

    def count(index, image, out):
        if index > 0:
            accepted.append(bool(tracker.diagnostics.get("redetect_accepted", False)))

    frames = ((index, path, imread_rgb(path)) for index, path in enumerate(seq.frames))
    start = time.perf_counter()
    output = track_frames(tracker, frames, seq.frame_info, on_frame=count)
    elapsed = time.perf_counter() - start
    return np.asarray(output.target_bbox, dtype=np.float64), sum(accepted), elapsed / len(seq.frames)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", nargs="+", default=["rts_small", "rts_small_redetect"])
    parser.add_argument("--sequences", type=int, default=24, help="videos to generate (those without an exit are dropped)")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = generate("lasot", Path(tmp) / "lasot", args.sequences, args.frames, args.seed, progress=False)
        sequences = [s for s in get_dataset("lasot", root=root)
                     if first_return(np.asarray(s.target_visible, bool)) is not None]
        print(f"{len(sequences)} of {args.sequences} generated videos have the target leave the view and return")
        print("| param | AUC all frames | AUC after the return | re-detections accepted | s/frame |")
        print("|---|---|---|---|---|")
        for param in args.params:
            spec = TrackerSpec("rts", param)
            all_curves, after_curves, accepted, times = [], [], 0, []
            for seq in sequences:
                boxes, count, per_frame = run(spec, seq)
                visible = np.asarray(seq.target_visible, bool)
                gt = np.asarray(seq.ground_truth_rect, dtype=np.float64)
                all_curves.append(sequence_curves(sequence_errors(boxes[1:], gt[1:], "LaSOT", visible[1:])))
                back = first_return(visible)
                after_curves.append(sequence_curves(sequence_errors(boxes[back:], gt[back:], "LaSOT", visible[back:])))
                accepted += count
                times.append(per_frame)

            def auc(curves):
                c = average_curves([x for x in curves if x is not None])
                return scores_from_curves(c.success, c.precision, c.norm_precision).auc

            print(f"| {param} | {auc(all_curves):.1f} | {auc(after_curves):.1f} | {accepted} | {np.mean(times):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
