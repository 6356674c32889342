"""Command line: ``python -m segmentation_plugins.synthetic --format cityscapes --out DIR [--videos N ...]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytracking_ext.cli import OneLineParser, int_pair
from pytracking_ext.errors import PytrackingError

from . import DEFAULT_SIZES, FORMATS, generate


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m segmentation_plugins.synthetic",
        description="Write synthetic street videos in the Cityscapes or CamVid (SegNet) layout.",
    )
    parser.add_argument("--format", required=True, choices=FORMATS, help="dataset layout to write")
    parser.add_argument("--out", required=True, type=Path, help="output folder (must be empty unless --overwrite)")
    parser.add_argument("--videos", type=int, default=2, help="videos per split (default 2)")
    parser.add_argument("--frames", type=int, default=30, help="frames per video (default 30)")
    parser.add_argument(
        "--size",
        type=int_pair("--size", "512x256"),
        default=None,
        help="WIDTHxHEIGHT (default 512x256 for cityscapes, 480x360 for camvid)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed -> identical files")
    parser.add_argument("--split", default="train", help="split name(s), comma-separated (default train)")
    parser.add_argument(
        "--annotated-index",
        type=int,
        default=19,
        help="cityscapes: 0-based index of the labelled frame in each snippet (default 19)",
    )
    parser.add_argument(
        "--label-step",
        type=int,
        default=2,
        help="camvid: frame-number step between labelled frames (default 2, i.e. 15 Hz of 30 Hz)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace the generated splits in a non-empty --out")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = dict(
        videos=args.videos,
        frames=args.frames,
        size=args.size or DEFAULT_SIZES[args.format],
        seed=args.seed,
        split=args.split,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    if args.format == "cityscapes":
        options["annotated_index"] = args.annotated_index
    else:
        options["label_step"] = args.label_step
    try:
        root = generate(args.format, args.out, **options)
    except (ValueError, OSError, PytrackingError) as err:
        parser.error(str(err))
    print(f"wrote {args.format} videos to {root.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
