"""Command line: ``python -m pytracking_ext.vot {serve,trackers-ini} TRACKER PARAM``."""

from __future__ import annotations

import argparse
import sys

from ..cli import OneLineParser
from ..errors import PytrackingError
from .relay import CLIENT_GONE_STATUS, ClientGone
from .server import serve
from .trackers_ini import DEFAULT_TIMEOUT, trackers_ini_entry


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m pytracking_ext.vot", description="VOT toolkit integration (TraX).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    run = commands.add_parser("serve", help="serve a tracker over TraX (started by the VOT toolkit)")
    run.add_argument("tracker", help="registered tracker name, e.g. rts")
    run.add_argument("param", help="parameter set, e.g. rts50")
    run.add_argument("--multiobject", action="store_true", help="serve the multi-object (VOTS) protocol")
    run.add_argument("--log", action="store_true", help="print TraX protocol messages")

    ini = commands.add_parser("trackers-ini", help="print a trackers.ini entry for the VOT toolkit")
    ini.add_argument("tracker")
    ini.add_argument("param")
    ini.add_argument("--label", help="label shown in VOT reports (default: the identifier)")
    ini.add_argument("--identifier", help="section name in trackers.ini (default: TRACKER_PARAM)")
    ini.add_argument("--multiobject", action="store_true", help="for VOTS stacks (several objects per sequence)")
    ini.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT,
        help=f"seconds the toolkit waits for each reply (default {DEFAULT_TIMEOUT})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            serve(args.tracker, args.param, multiobject=args.multiobject, log=args.log)
        else:
            print(
                trackers_ini_entry(
                    args.tracker,
                    args.param,
                    label=args.label,
                    identifier=args.identifier,
                    multiobject=args.multiobject,
                    timeout=args.timeout,
                ),
                end="",
            )
    except ClientGone as err:
        parser.exit(CLIENT_GONE_STATUS, f"{parser.prog}: error: {err}\n")
    except (PytrackingError, ValueError) as err:
        parser.exit(1, f"{parser.prog}: error: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, f"{parser.prog}: interrupted\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
