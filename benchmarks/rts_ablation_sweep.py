"""RTS ablations of thesis ch. 5 at ``rts_small`` scale, one table: instance conditioning (Table 5.1),
the instance-branch fallback and the score threshold t_sc (Table 5.2), and, with networks you
trained, the classifier-loss weight eta (Table 5.9) or a network trained without conditioning.

    python benchmarks/rts_ablation_sweep.py [--param rts_small] [--net FILE]
        [--davis ../shared/data/davis2016] [--generated 8 --frames 50 --seed 1234 [99 ...]] [--sequences N]
        [--trained eta0=FILE eta0.4=FILE no_conditioning=FILE ...] [--out TABLE.md] [--threads 2]

Rows (every tracker starts from the first-frame mask; scores as in ``rts_small_quality.py``:
success AUC of the boxes, J, F and J&F of the masks, per data set):

* ``release``: the parameter set as it is (conditioning on, fallback on, t_sc = 0.30);
* ``no_conditioning_inference``: the same weights with the decoder's instance input removed
  (``RTSNet.instance_conditioning=False``); Table 5.1 retrains instead: pass a network trained
  with ``--set instance_conditioning=False`` as ``--trained no_conditioning=FILE``;
* ``no_fallback``: the instance box is never used when the segmentation finds nothing
  (``trust_clf_when_no_seg=False``, ``use_clf_box_when_no_seg=False``; Table 5.2 row 1);
* ``t_sc=0.20``, ``t_sc=0.40``: ``clf_target_not_found_threshold`` (Table 5.2);
* ``--trained NAME=FILE``: the release settings with another network (Table 5.9: networks trained
  with ``--set clf_loss_eta=0`` / ``0.4`` / ``10``).

``--frames N`` keeps the first N frames of every sequence and ``--sequences N`` the first N
sequences of every data set (quick checks only: the thesis' figures need whole sequences).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pytracking_ext.errors import PytrackingError
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.trackers import TrackerParams
from pytracking_ext.utils.io import atomic_write_text

HERE = Path(__file__).resolve().parent


def _quality_module():
    """``rts_small_quality.py`` beside this file: its per-sequence scoring is the one used here."""
    spec = importlib.util.spec_from_file_location("rts_small_quality", HERE / "rts_small_quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _no_conditioning(params: TrackerParams) -> None:
    # the network is rebuilt with the switch (the spec's constructor overrides reach the checkpoint's record)
    params.net = dataclasses.replace(
        params.net, constructor_kwargs={**params.net.constructor_kwargs, "instance_conditioning": False}
    )


def _no_fallback(params: TrackerParams) -> None:
    params.trust_clf_when_no_seg = False  # no re-centring on the instance box (tracker._reposition)
    params.use_clf_box_when_no_seg = False  # no instance box as the reported box (tracker.track)


def _threshold(value: float) -> Callable[[TrackerParams], None]:
    def apply(params: TrackerParams) -> None:
        params.clf_target_not_found_threshold = value

    return apply


#: row name -> (what it switches, how); the thesis tables each row answers are in the module docs
ROWS: dict[str, tuple[str, Callable[[TrackerParams], None]]] = {
    "release": ("parameter set as it is", lambda params: None),
    "no_conditioning_inference": ("instance_conditioning=False (same weights)", _no_conditioning),
    "no_fallback": ("trust_clf_when_no_seg=False, use_clf_box_when_no_seg=False", _no_fallback),
    "t_sc=0.20": ("clf_target_not_found_threshold=0.20", _threshold(0.20)),
    "t_sc=0.40": ("clf_target_not_found_threshold=0.40", _threshold(0.40)),
}


def truncated(seq, frames: int | None):
    """``seq`` with its first ``frames`` frames only (None: whole)."""
    if frames is None or len(seq.frames) <= frames:
        return seq
    gt = seq.ground_truth_rect
    gt = {k: v[:frames] for k, v in gt.items()} if isinstance(gt, dict) else np.asarray(gt)[:frames]
    return dataclasses.replace(
        seq,
        frames=seq.frames[:frames],
        ground_truth_rect=gt,
        ground_truth_seg=None if seq.ground_truth_seg is None else seq.ground_truth_seg[:frames],
        target_visible=None if seq.target_visible is None else seq.target_visible[:frames],
    )


def table(results: dict[str, dict[str, dict[str, Any]]], switches: dict[str, str]) -> str:
    """One markdown table: a line per (row, data set)."""
    lines = [
        "| row | switches | data set | AUC | J | F | J&F | FPS | frames per update case |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row, per_set in results.items():
        for title, r in per_set.items():
            lines.append(
                f"| {row} | {switches[row]} | {title} | {r['auc']:.1f} | {r['J']:.1f} | {r['F']:.1f} | "
                f"{r['JF']:.1f} | {r['fps']:.1f} | {r['cases']} |"
            )
    return "\n".join(lines) + "\n"


def trained_rows(items: list[str]) -> dict[str, str]:
    """``NAME=FILE`` arguments -> {name: file}; a missing file is a one-line error."""
    rows = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise PytrackingError(f"--trained: expected NAME=FILE, got '{item}'")
        if not Path(path).expanduser().is_file():
            raise PytrackingError(f"--trained {name}: network file {path} not found")
        rows[name] = str(Path(path).expanduser())
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--param", default="rts_small", help="RTS parameter set of every row")
    parser.add_argument("--net", help="weights of the switch rows (default: the parameter set's own)")
    parser.add_argument("--davis", default=str(HERE.parents[1] / "shared" / "data" / "davis2016"))
    parser.add_argument("--generated", type=int, default=8, help="generated sequences (0: none)")
    parser.add_argument("--frames", type=int, help="keep the first N frames of every sequence (quick checks)")
    parser.add_argument("--generated-frames", type=int, default=50, help="length of the generated sequences")
    parser.add_argument("--sequences", type=int, help="keep the first N sequences of every data set (quick checks)")
    parser.add_argument(
        "--seed", type=int, nargs="+", default=[1234], help="seeds of the generated sets (one pair of sets per seed)"
    )
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    parser.add_argument(
        "--thresholds",
        nargs="*",
        type=float,
        default=[],
        metavar="T_SC",
        help="more rows t_sc=T_SC (an operating point for a network whose instance scores have another scale)",
    )
    parser.add_argument(
        "--distractors",
        type=int,
        default=0,
        help="also a generated set with this many look-alike distractors per video (0: none)",
    )
    parser.add_argument("--trained", nargs="*", default=[], metavar="NAME=FILE", help="release rows with these nets")
    parser.add_argument("--out", help="also write the table to this file")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        extra = trained_rows(args.trained)
    except PytrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    quality = _quality_module()
    frames = args.frames if args.frames is None else max(2, args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        length = args.generated_frames if frames is None else min(args.generated_frames, frames)
        sets = quality.benchmark_sets(args.davis, args.generated, length, tuple(args.seed), args.distractors, Path(tmp))
        if not sets:
            print("error: no data: --davis is not a folder and --generated is 0", file=sys.stderr)
            return 2
        sets = {title: [truncated(s, frames) for s in seqs[: args.sequences]] for title, seqs in sets.items()}
        runs = {row: (ROWS[row][0], ROWS[row][1], args.net) for row in args.rows}
        for value in args.thresholds:
            runs[f"t_sc={value:g}"] = (f"clf_target_not_found_threshold={value:g}", _threshold(value), args.net)
        for name, path in extra.items():
            runs[name] = (f"release settings, net {Path(path).name}", ROWS["release"][1], path)
        spec = TrackerSpec("rts", args.param)
        results = {
            row: {title: quality.evaluate(spec, seqs, net, configure=configure) for title, seqs in sets.items()}
            for row, (_, configure, net) in runs.items()
        }
    text = table(results, {row: what for row, (what, _, _) in runs.items()})
    print(f"RTS ablations, parameter set {args.param}" + (f", net {args.net}" if args.net else ""))
    print(text)
    if args.out:
        atomic_write_text(Path(args.out), text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
