"""Command line: ``python -m pytracking_ext.bridge {install,uninstall} PYTRACKING_ROOT``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli import OneLineParser
from ..errors import PytrackingError
from .checkout import Manifest, install, uninstall
from .shims import plan_shims


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m pytracking_ext.bridge", description="Run pytracking_ext trackers from a PyTracking checkout."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    add = commands.add_parser("install", help="write shims into the checkout (safe to repeat)")
    add.add_argument("root", type=Path, help="PyTracking checkout (holds pytracking/ and ltr/)")
    add.add_argument("--trackers", nargs="+", metavar="NAME", help="only these registered trackers (default: all)")
    add.add_argument("--prefix", default="", help="prepend to the names used in the checkout, e.g. 'ext_'")
    add.add_argument(
        "--replace",
        action="store_true",
        help="move the checkout's own folders of the same names (e.g. its rts) aside so its scripts "
        "run ours; uninstall moves them back",
    )
    remove = commands.add_parser("uninstall", help="remove exactly what install wrote")
    remove.add_argument("root", type=Path, help="PyTracking checkout")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            plan = plan_shims(args.trackers, args.prefix)
            written = install(args.root, plan, replace=args.replace)
            print(
                f"{len(plan.files)} shim files in {args.root.resolve()} ({len(written)} written, "
                f"{len(plan.files) - len(written)} unchanged)"
            )
            for rel in written:
                print(f"  {rel}")
            for rel, backup in (Manifest.load(args.root.resolve()) or Manifest()).moved.items():
                print(f"  the checkout's own {rel}/ is kept in {backup}/ until uninstall")
        else:
            moved = (Manifest.load(args.root.resolve()) or Manifest()).moved
            removed, kept = uninstall(args.root)
            print(f"removed {len(removed)} shim files from {args.root.resolve()}")
            for rel in moved:
                print(f"  restored the checkout's own {rel}/")
            for rel in kept:
                print(f"  kept {rel}/ (it holds files that were not installed by the bridge)")
    except PytrackingError as err:
        parser.exit(1, f"{parser.prog}: error: {err}\n")
    except KeyboardInterrupt:
        # install undoes its steps before this is reached; uninstall checks everything before it starts
        parser.exit(130, f"{parser.prog}: interrupted\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
