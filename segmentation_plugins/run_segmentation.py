"""Segment a benchmark split or your own video with a registered method.

    python -m segmentation_plugins.run_segmentation METHOD PARAM --dataset camvid --root DIR [--split val]
        [--mode stream|clip|thesis] [--clip-length L] [--out DIR] [--save-predictions] [--set key=value ...]
    python -m segmentation_plugins.run_segmentation METHOD PARAM --input VIDEO_OR_FOLDER --out DIR

A benchmark run prints per-class IoU, mIoU, the temporal flip rate and frames per second, and
writes them to ``OUT/results.json`` (default ``OUT``: ``<workspace>/segmentation_results/METHOD/PARAM/
<dataset>_<split>_<mode>``). ``--set`` changes a parameter for this run (e.g. ``memory_size=2``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from pytracking_ext import overrides
from pytracking_ext.cli import OneLineParser, add_set_argument, int_pair
from pytracking_ext.errors import PytrackingError
from pytracking_ext.settings import env_settings, ltr_env_settings
from pytracking_ext.trackers import TrackerParams
from pytracking_ext.utils.io import atomic_write_text, imwrite_indexed

from .data.labels import get_label_set
from .evaluation.protocols import PROTOCOLS, get_protocol, protocol_clip_length
from .registry import SEGMENTERS, build_segmenter, segmenter_parameters


def positive_int(text: str) -> int:
    """An integer >= 1 (frame, clip and thread counts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def apply_overrides(params: TrackerParams, assignments: list[tuple[str, object]], owner: str, label_set: str) -> None:
    """Check ``--set`` against the parameter set's fields (and ``label_set``, read here), then apply them."""
    fields = {"label_set": label_set, **{k: v for k, v in vars(params).items() if not k.startswith("_")}}
    overrides.check_overrides(assignments, fields, what="parameter", owner=owner)
    for key, value in assignments:
        setattr(params, key, value)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m segmentation_plugins.run_segmentation", description=__doc__.split("\n")[0])
    parser.add_argument("method", help="segmentation method (" + ", ".join(SEGMENTERS.names()) + ")")
    parser.add_argument("param", help="parameter set (parameter/<method>/<param>.py)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=["camvid", "cityscapes"], help="benchmark to evaluate on")
    source.add_argument("--input", help="your own video file or folder of images")
    parser.add_argument("--root", help="dataset root (default: the camvid_dir / cityscapes_dir setting)")
    parser.add_argument("--split", default="val")
    parser.add_argument(
        "--mode",
        choices=PROTOCOLS.names(),
        default="stream",
        help="stream: one rolling state per run of frames; clip: the official per-clip protocol; "
        "thesis: EVS clips of S = keyframe_interval frames, the scored frame S - 1 after the key frame",
    )
    parser.add_argument("--clip-length", type=positive_int, default=4, help="frames per clip in clip mode (memory + 1)")
    parser.add_argument(
        "--size", type=int_pair("--size", "480x352"), help="resize frames and labels to WxH before segmenting"
    )
    parser.add_argument("--out", help="output folder")
    parser.add_argument("--save-predictions", action="store_true", help="also write every prediction as a PNG")
    parser.add_argument("--max-videos", type=positive_int, help="stop after this many videos/clips (quick checks)")
    parser.add_argument("--max-frames", type=positive_int, help="own video: stop after this many frames")
    parser.add_argument("--threads", type=positive_int, help="torch CPU threads")
    add_set_argument(parser, "override a parameter (repeatable)")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def dataset_root(dataset: str, root: str | None) -> str:
    if root:
        if not Path(root).is_dir():
            raise PytrackingError(f"{root}: dataset folder not found (--root)")
        return root
    # the training setting (LTR_CAMVID_DIR, [ltr] camvid_dir): inference scores the data training reads
    return str(ltr_env_settings().require(f"{dataset}_dir"))


def print_report(result: dict, title: str) -> None:
    print(title)
    for name, value in result["class_iou"].items():
        print(f"  {name:<14} {'-' if value is None else f'{value:6.2f}'}")
    flips = result["temporal_flip_rate"]
    print(
        f"mIoU {result['miou']:.2f}  pixel accuracy {result['pixel_accuracy']:.2f}  "
        f"temporal flip rate {'-' if flips is None else f'{flips:.3f}'} %  "
        f"{result['frames']} frames, {result['scored_frames']} scored, {result['fps']:.2f} FPS"
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        params = segmenter_parameters(args.method, args.param)
        apply_overrides(params, args.assignments, f"{args.method} {args.param}", args.dataset or "cityscapes")
        label_set = get_label_set(params.get("label_set", args.dataset or "cityscapes"))
        with build_segmenter(args.method, params) as segmenter:
            if args.input:
                from .own_video import segment_own_video

                if not args.out:
                    parser.error("--input needs --out")
                summary = segment_own_video(
                    segmenter, label_set, args.input, args.out, args.max_frames, progress=not args.no_progress
                )
                print(f"{summary['frames']} frames: labels in {summary['labels']}, overlay {summary['overlay']}")
                return 0
            root = dataset_root(args.dataset, args.root)
            clip_length = protocol_clip_length(args.mode, args.clip_length, params)
            run_name = f"{args.dataset}_{args.split}_{args.mode}"
            out = (
                Path(args.out)
                if args.out
                else Path(env_settings().segmentation_path) / args.method / args.param / run_name
            )
            on_output = None
            if args.save_predictions:
                palette = label_set.palette()

                def on_output(video: int, index: int, labels) -> None:
                    imwrite_indexed(out / "predictions" / f"{video:04d}_{index:05d}.png", labels, palette)

            from .evaluation.runner import evaluate

            report = evaluate(
                segmenter,
                label_set,
                args.dataset,
                root,
                args.split,
                args.mode,
                clip_length,
                args.size,
                args.max_videos,
                progress=not args.no_progress,
                on_output=on_output,
            )
        result = {
            "method": args.method,
            "param": args.param,
            "dataset": args.dataset,
            "split": args.split,
            "mode": args.mode,
            "clip_length": clip_length if get_protocol(args.mode).clips else None,
            "overrides": {k: repr(v) for k, v in args.assignments},
            **report.as_dict(),
        }
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "results.json", json.dumps(result, indent=1) + "\n")
        print_report(result, f"{args.method} {args.param} on {args.dataset} {args.split} ({args.mode}) -> {out}")
    except (PytrackingError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
