"""The README's first command: a complete run on an embedded default, no download needed.

It generates a small LaSOT-format benchmark, runs RTS with the small network shipped in this
package (and the OpenCV MIL baseline next to it) with the ordinary runner, writes an overlay
video of one sequence, and produces the analysis tables and success plot:

    python -m pytracking_ext.demo [--tracker rts --param rts_small] [--baseline opencv_mil:default] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cli import report_error
from .errors import PytrackingError
from .evaluation.running import build_tracker, print_summary, run_dataset, track_sequence
from .evaluation.tracker_spec import TrackerSpec
from .settings import env_settings
from .visualization import VideoSink, draw_overlay


def write_overlay_video(seq, spec: TrackerSpec, path: Path, fps: float = 15.0) -> Path:
    """Track ``seq`` once more and write every frame with the predicted box (and mask)."""
    tracker = build_tracker(spec, seq)
    with VideoSink(path, fps=fps) as sink:
        track_sequence(
            tracker,
            seq,
            progress=False,
            on_frame=lambda i, image, out: sink.write(
                draw_overlay(
                    image,
                    out.get("target_bbox"),
                    out.get("segmentation") if tracker.predicts_segmentation_mask() else None,
                )
            ),
        )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytracking_ext.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--tracker", default="rts")
    parser.add_argument("--param", default="rts_small")
    parser.add_argument(
        "--baseline", default="opencv_mil:default", help="NAME:PARAM run next to it for comparison ('' for none)"
    )
    parser.add_argument("--out", default=None, help="demo folder (default: <workspace>/demo)")
    parser.add_argument("--num-sequences", type=int, default=4)
    parser.add_argument("--num-frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        return run_demo(args)
    except PytrackingError as err:  # a broken settings file, an unknown tracker, ...
        return report_error(err)


def run_demo(args: argparse.Namespace) -> int:
    """Generate, track, write the overlay video and analyse (what :func:`main` runs)."""
    from .analysis.report import ReportOptions, run_report
    from .datasets import get_dataset
    from .synthetic import generate

    out = Path(args.out) if args.out else Path(env_settings().workspace_dir) / "demo"
    # settings first: a broken settings file stops the demo before it writes anything
    settings = env_settings(
        results_path=str(out / "tracking_results"),
        segmentation_path=str(out / "segmentation_results"),
        result_plot_path=str(out / "result_plots"),
    )
    print(f"[1/4] generating a LaSOT-format benchmark in {out / 'lasot'}")
    root = generate(
        "lasot", out / "lasot", num_sequences=args.num_sequences, num_frames=args.num_frames, seed=args.seed
    )
    dataset = get_dataset("lasot", settings=settings, root=root)
    spec = TrackerSpec(args.tracker, args.param)
    specs = [spec] + ([TrackerSpec(*args.baseline.split(":", 1))] if args.baseline else [])
    print(f"[2/4] running {', '.join(f'{s.name}/{s.param}' for s in specs)} on {len(dataset)} sequences")
    summary = run_dataset(dataset, specs, settings=settings)
    print_summary(summary, spec.results_dir(settings))
    if summary.interrupted:  # Ctrl-C: what finished is kept; no video or analysis of a partial run
        return summary.exit_code
    video = write_overlay_video(dataset[0], spec, out / f"overlay_{dataset[0].name}.mp4")
    print(f"[3/4] overlay video: {video}")
    print("[4/4] analysis")
    report = run_report(
        ReportOptions(dataset="lasot", trackers=specs, report_name="demo", plot=True, dataset_path=str(root)), settings
    )
    print((report.folder / "summary.md").read_text(), end="")
    print(f"results: {spec.results_dir(settings)}")
    print(f"report:  {report.folder}")
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
