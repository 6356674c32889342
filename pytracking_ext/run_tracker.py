"""Run a tracker on a dataset: ``python -m pytracking_ext.run_tracker TRACKER PARAM --dataset_name NAME``.

Same arguments as PyTracking's ``run_tracker.py`` plus ``--dataset_path`` (the dataset root, instead
of a setting), ``--overwrite`` (redo finished sequences), ``--int-boxes`` and ``--workers N``
(worker processes; PyTracking's ``--threads``, renamed because run_segmentation's ``--threads`` sets
torch threads). The results folder
is checked for writability before any tracking; Ctrl-C prints one line, keeps the finished
sequences and exits with status 130.
"""

from __future__ import annotations

import argparse
import sys

from .cli import add_run_arguments, interruptible, visdom_info
from .errors import PytrackingError
from .evaluation.running import check_output_folders, print_summary, run_dataset
from .evaluation.tracker_spec import TrackerSpec
from .settings import env_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytracking_ext.run_tracker", description=__doc__.split("\n")[0])
    parser.add_argument("tracker_name")
    parser.add_argument("tracker_param")
    parser.add_argument("--runid", type=int, default=None)
    parser.add_argument("--dataset_name", default="otb", help="dataset key (see --list-datasets)")
    parser.add_argument("--dataset_path", default=None, help="dataset root folder (overrides the setting)")
    parser.add_argument("--sequence", default=None, help="sequence name or index")
    parser.add_argument("--list-datasets", action="store_true", help="print the dataset keys and exit")
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    from .datasets import DATASETS

    if args.list_datasets:
        print("\n".join(DATASETS.names()))
        return 0
    return interruptible(lambda: _run(args))  # run_dataset reports Ctrl-C during the sequences itself


def _run(args: argparse.Namespace) -> int:
    from .datasets import get_dataset

    try:
        settings = env_settings()
        dataset = get_dataset(args.dataset_name, settings=settings, root=args.dataset_path)
        dataset = dataset.select(args.sequence)
        spec = TrackerSpec(args.tracker_name, args.tracker_param, args.runid)
        from .trackers import get_parameters

        get_parameters(spec.name, spec.param)  # fail fast on unknown names, before any sequence runs
        check_output_folders([spec], settings)  # and on an unwritable results folder
    except (PytrackingError, IndexError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    summary = run_dataset(
        dataset,
        [spec],
        workers=args.workers,
        debug=args.debug,
        overwrite=args.overwrite,
        settings=settings,
        int_boxes=args.int_boxes,
        visdom_info=visdom_info(args),
    )
    print_summary(summary, spec.results_dir(settings))
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
