"""Re-detection on/off on generated videos where the target leaves the view and comes back.

    python benchmarks/rts_redetection.py [--params rts_small rts_small_redetect] [--sequences 24 --frames 120]
    python benchmarks/rts_redetection.py --params rts50 rts50_redetect --network-path ~/networks
    python benchmarks/rts_redetection.py --params rts50 rts50_redetect --net /path/to/other_rts50.pth
    python benchmarks/rts_redetection.py --params rts_small_redetect --set redetect_threshold=0.3

Generates LaSOT-format videos (``pytracking_ext.synthetic``; each video's events are random),
keeps those with an out-of-view stretch (``out_of_view.txt``), runs every parameter set of the
``rts`` tracker on them and prints the success AUC over all frames (target-absent frames excluded,
as LaSOT scores), the AUC on the frames after the target's first return, how many frame-wide
searches ran and were accepted, and the time per tracked frame (all frames, and frames with a
search). ``--net`` replaces every parameter set's weights file; a relative one (and the parameter
sets' own relative files, e.g. rts50's ``rts50.pth``) is looked up in ``--network-path`` (default:
the ``network_path`` setting, env ``PYTRACKING_NETWORK_PATH``). ``rts_small*`` use the shipped
network. ``--set key=value`` changes a tracker parameter in every set (values as Python literals).
"""

from __future__ import annotations

import argparse
import ast
import tempfile
from pathlib import Path

import numpy as np
import torch

from pytracking_ext.analysis.box_metrics import average_curves, scores_from_curves, sequence_curves, sequence_errors
from pytracking_ext.datasets import get_dataset
from pytracking_ext.evaluation.running import track_frames
from pytracking_ext.synthetic import generate
from pytracking_ext.trackers import get_parameters, get_tracker_class
from pytracking_ext.trackers.params import TrackerParams
from pytracking_ext.utils.io import imread_rgb


def out_of_view(seq) -> np.ndarray:
    """LaSOT's per-frame out-of-view flags (``out_of_view.txt`` next to ``img/``)."""
    path = Path(seq.frames[0]).parents[1] / "out_of_view.txt"
    return np.array([int(v) for v in path.read_text().strip().split(",")], dtype=bool)


def first_return(away: np.ndarray) -> int | None:
    """Index of the first frame in view after the first out-of-view one (None: never leaves)."""
    hidden = np.flatnonzero(away)
    if len(hidden) == 0:
        return None
    back = np.flatnonzero(~away[hidden[0] :])
    return int(hidden[0] + back[0]) if len(back) else None


def exit_sequences(folder: Path, count: int, frames: int, seed: int, max_videos: int = 1024) -> tuple[list, int]:
    """The first ``count`` generated LaSOT videos whose target leaves the view and returns, and how
    many videos were generated (a larger set starts with the same videos, so it grows until enough)."""
    generated = 3 * count  # about one video in three has an out-of-view event
    while True:
        root = generate("lasot", folder / f"lasot_{generated}", generated, frames, seed, progress=False)
        found = [s for s in get_dataset("lasot", root=root) if first_return(out_of_view(s)) is not None]
        if len(found) >= count or generated >= max_videos:
            return found[:count], generated
        generated *= 2


def parse_override(text: str) -> tuple[str, object]:
    """``key=value`` with a Python-literal value (a bare word stays a string)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set expects key=value, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def load_parameters(
    param: str, net: str | None, network_path: str | None, overrides: list[tuple[str, object]] = ()
) -> TrackerParams:
    """``rts`` parameter set ``param`` with its weights file replaced by ``net`` and resolved in ``network_path``."""
    params = get_parameters("rts", param)
    for key, value in overrides:
        setattr(params, key, value)
    if net:
        params.net.path = net
    if network_path:
        params.net.path = str(params.net.resolve(network_path))
    return params


def run(params: TrackerParams, seq) -> tuple[np.ndarray, int, int, list[float], list[float]]:
    """Boxes, searches run, searches accepted, and the times of tracked frames without / with a search."""
    tracker = get_tracker_class("rts")(params)
    ran, accepted = [], []

    def count(index, image, out):
        if index > 0:
            ran.append(bool(tracker.diagnostics.get("redetect_ran", False)))
            accepted.append(bool(tracker.diagnostics.get("redetect_accepted", False)))

    frames = ((index, path, imread_rgb(path)) for index, path in enumerate(seq.frames))
    output = track_frames(tracker, frames, seq.frame_info, on_frame=count)
    times = np.asarray(output.time[1:], dtype=np.float64)
    searched = np.asarray(ran, dtype=bool)
    return (
        np.asarray(output.target_bbox, dtype=np.float64),
        int(searched.sum()),
        sum(accepted),
        times[~searched].tolist(),
        times[searched].tolist(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--params",
        "--param",
        nargs="+",
        default=["rts_small", "rts_small_redetect"],
        help="rts parameter sets to compare",
    )
    parser.add_argument("--net", help="weights file for every parameter set (absolute or relative to --network-path)")
    parser.add_argument(
        "--network-path", default=None, help="folder of relative weights files (default: the network_path setting)"
    )
    parser.add_argument("--sequences", type=int, default=8, help="videos with an exit to evaluate")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--set",
        dest="overrides",
        type=parse_override,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="tracker parameter for every set, e.g. redetect_threshold=0.3",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        sequences, generated = exit_sequences(Path(tmp), args.sequences, args.frames, args.seed)
        print(
            f"{len(sequences)} of {generated} generated videos ({args.frames} frames) have the target leave the view "
            f"and return: {', '.join(s.name for s in sequences)}"
        )
        print(
            "| param | AUC all frames | AUC after the return | searches run | accepted | s/frame "
            "| s/frame with a search |"
        )
        print("|---|---|---|---|---|---|---|")
        for param in args.params:
            all_curves, after_curves, ran, accepted, plain_times, search_times = [], [], 0, 0, [], []
            for seq in sequences:
                params = load_parameters(param, args.net, args.network_path, args.overrides)
                boxes, searches, taken, plain, searched = run(params, seq)
                visible = np.asarray(seq.target_visible, bool)
                gt = np.asarray(seq.ground_truth_rect, dtype=np.float64)
                all_curves.append(sequence_curves(sequence_errors(boxes[1:], gt[1:], "LaSOT", visible[1:])))
                back = first_return(out_of_view(seq))
                after_curves.append(sequence_curves(sequence_errors(boxes[back:], gt[back:], "LaSOT", visible[back:])))
                ran, accepted = ran + searches, accepted + taken
                plain_times += plain
                search_times += searched

            def auc(curves):
                c = average_curves([x for x in curves if x is not None])
                return scores_from_curves(c.success, c.precision, c.norm_precision).auc

            with_search = f"{np.mean(search_times):.3f}" if search_times else "-"
            print(
                f"| {param} | {auc(all_curves):.1f} | {auc(after_curves):.1f} | {ran} | {accepted} | "
                f"{np.mean(plain_times + search_times):.3f} | {with_search} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
