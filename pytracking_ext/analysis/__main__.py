"""``python -m pytracking_ext.analysis``: score result folders and write a report."""

from __future__ import annotations

import argparse
import sys

from ..errors import PytrackingError
from ..evaluation.tracker_spec import TrackerSpec, parse_tracker_arg
from ..settings import env_settings
from . import presence_metrics
from .box_metrics import PROTOCOLS
from .evaluate import TrackerEvaluation
from .report import ReportOptions, run_report


def _tracker_specs(values: list[str]) -> list[TrackerSpec]:
    specs: list[TrackerSpec] = []
    for value in values:
        try:
            specs.extend(parse_tracker_arg(value))
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"--trackers: {err}") from None
    return specs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytracking_ext.analysis",
        description="Success/precision (boxes), AO/SR (GOT-10k) and J/F (VOS) of tracker results, as tables and plots.",
    )
    parser.add_argument(
        "--trackers",
        nargs="+",
        required=True,
        metavar="NAME:PARAM[:RUNIDS]",
        help="trackers to compare; RUNIDS like 0, 0-4 or 0,2 (runs are averaged)",
    )
    parser.add_argument("--dataset", required=True, help="dataset registry key (lasot, otb, dv2017_val, ...)")
    parser.add_argument("--plot", action="store_true", help="also write PNG plots")
    parser.add_argument("--report", default=None, help="report folder name (default: the dataset name)")
    parser.add_argument(
        "--protocol",
        default="pytracking",
        choices=PROTOCOLS.names(),
        help="'pytracking' reproduces published numbers; 'strict' drops invalid frames",
    )
    parser.add_argument("--dataset_path", "--dataset-path", default=None, help="dataset root overriding the settings")
    parser.add_argument(
        "--skip-missing",
        "--skip_missing",
        action="store_true",
        help="leave out sequences lacking results of any tracker (for all trackers)",
    )
    parser.add_argument(
        "--presence-threshold",
        "--presence_threshold",
        type=float,
        default=None,
        help="threshold for the presence precision/recall (default: each parameter set's presence_threshold)",
    )
    parser.add_argument(
        "--attribute-mode",
        choices=("short", "long"),
        default="short",
        help="attribute names in the per-attribute table",
    )
    return parser


def presence_lines(evaluations: list[TrackerEvaluation], threshold: float | None = None) -> list[str]:
    """Presence precision/recall/F1 of every tracker with presence files (docs/metrics.md "Presence")."""
    lines = []
    for ev in evaluations:
        if ev.presence is None or ev.presence_frames is None:
            continue
        summary, name = ev.presence, "presence_threshold"
        if threshold is not None:
            summary = presence_metrics.summarize(*ev.presence_frames, threshold=threshold, sequences=summary.sequences)
            name = "--presence-threshold"
        lines.append(presence_metrics.format_summary(f"presence {ev.group.label}", summary, name))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        specs = _tracker_specs(args.trackers)
    except argparse.ArgumentTypeError as err:
        parser.error(str(err))
    options = ReportOptions(
        dataset=args.dataset,
        trackers=specs,
        report_name=args.report,
        protocol=args.protocol,
        plot=args.plot,
        skip_missing=args.skip_missing,
        dataset_path=args.dataset_path,
        attribute_mode=args.attribute_mode,
    )
    try:
        report = run_report(options, env_settings())
    except PytrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if report.skipped:
        print(
            f"skipped {len(report.skipped)} sequence(s) with missing results: {', '.join(report.skipped[:10])}"
            + (" ..." if len(report.skipped) > 10 else "")
        )
    print((report.folder / "summary.md").read_text(), end="")
    for line in presence_lines(report.evaluations, args.presence_threshold):
        print(line)
    print(f"report written to {report.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
