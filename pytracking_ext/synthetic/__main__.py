"""Command line: ``python -m pytracking_ext.synthetic --format lasot --out DIR --num-sequences 5 ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli import OneLineParser
from ..errors import PytrackingError
from . import FORMATS, generate_dataset
from .common import VOT_REGIONS


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m pytracking_ext.synthetic",
        description="Write a miniature synthetic dataset in a benchmark's official layout.",
    )
    parser.add_argument("--format", required=True, choices=FORMATS.names(), help="benchmark layout to write")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    parser.add_argument("--num-sequences", type=int, default=5, help="sequences per split (default 5)")
    parser.add_argument("--num-frames", type=int, default=30, help="frames per sequence, at least 2 (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed -> identical files")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--num-objects", type=int, default=2, help="objects per video (davis 2017, youtubevos)")
    parser.add_argument("--vot-region", choices=VOT_REGIONS, default="rectangle", help="VOT ground-truth region type")
    parser.add_argument("--davis-version", type=int, choices=(2016, 2017), default=2017)
    parser.add_argument(
        "--distractors", type=int, default=None, help="look-alikes of the first object per video (default: 0 or 1)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = dict(
        width=args.width,
        height=args.height,
        num_objects=args.num_objects,
        vot_region=args.vot_region,
        davis_version=args.davis_version,
        distractors=args.distractors,
        progress=not args.no_progress,
    )
    try:
        dataset = generate_dataset(args.format, args.out, args.num_sequences, args.num_frames, args.seed, **options)
    except (ValueError, PytrackingError) as err:
        parser.error(str(err))
    print(f"wrote {args.format} dataset to {dataset.root.resolve()}")
    print(f"point setting '{dataset.setting}' at it:")
    print(dataset.export_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
