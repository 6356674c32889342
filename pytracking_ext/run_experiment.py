"""Run an experiment: ``python -m pytracking_ext.run_experiment MODULE FUNCTION``.

``MODULE`` is a module of ``pytracking_ext.experiments`` or any importable dotted path; ``FUNCTION``
returns ``(trackers, dataset)`` where trackers is a list of TrackerSpec (see ``trackerlist``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from .cli import add_run_arguments, interruptible, visdom_info
from .errors import PytrackingError, UnknownNameError
from .evaluation.running import check_output_folders, print_summary, run_dataset
from .settings import env_settings


def load_experiment(module_name: str, function_name: str):
    """Import the experiment function (``pytracking_ext.experiments.<module>`` first)."""
    for candidate in (f"pytracking_ext.experiments.{module_name}", module_name):
        try:
            found = importlib.util.find_spec(candidate) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        if not found:
            continue
        module = importlib.import_module(candidate)
        if not hasattr(module, function_name):
            public = [n for n in dir(module) if callable(getattr(module, n)) and not n.startswith("_")]
            raise UnknownNameError(
                f"experiment module {candidate} has no function '{function_name}'; functions: {', '.join(public)}"
            )
        return getattr(module, function_name)
    raise UnknownNameError(
        f"experiment module '{module_name}' not found "
        f"(looked for pytracking_ext.experiments.{module_name} and {module_name})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytracking_ext.run_experiment", description=__doc__.split("\n")[0])
    parser.add_argument("experiment_module")
    parser.add_argument("experiment_name")
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    return interruptible(lambda: _run(args))  # run_dataset reports Ctrl-C during the sequences itself


def _run(args: argparse.Namespace) -> int:
    try:
        settings = env_settings()
        trackers, dataset = load_experiment(args.experiment_module, args.experiment_name)()
        check_output_folders(trackers, settings)  # an unwritable results folder fails before any tracking
    except PytrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    summary = run_dataset(
        dataset,
        trackers,
        workers=args.workers,
        debug=args.debug,
        overwrite=args.overwrite,
        settings=settings,
        int_boxes=args.int_boxes,
        visdom_info=visdom_info(args),
    )
    print_summary(summary, trackers[0].results_dir(settings).parent.parent if trackers else None)
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
