"""EVS Table 3.1 at the refined offset: per-class IoU of EVS 02/03/06/07 and the Refiner's recovery.

The thesis scores frame 20 of each Cityscapes snippet with the key frame S - 1 frames before it,
so EVS 02 / 03 (S = 2) show one propagation and EVS 06 / 07 (S = 5) four; the last frame of the
cycle is the refined one (docs/evs.md §2.5). ``--mode thesis`` of ``run_segmentation`` is that
protocol, so the recovery rows here are the Refiner's gain where it ran:

- ``Recovery 1`` = EVS 02 (W + R) - EVS 03 (W) after one propagation,
- ``Recovery 4`` = EVS 06 (W + R) - EVS 07 (W) after four,

per class and for the mIoU, next to the thesis' Cityscapes recovery for the CamVid classes that
have a Cityscapes counterpart (``CITYSCAPES_CLASS``). ``Baseline`` is EVS 01 in thesis mode: a clip
of one frame, i.e. ICNet alone (the thesis' ICNet row).

Each point's ``results.json`` is read from ``--results`` (default ``--out``) as
``<point>_thesis/results.json``; a missing one is computed there first with
``python -m segmentation_plugins.run_segmentation evs <point> --dataset camvid --mode thesis``
(needs ``--root``; ``--rerun`` recomputes them all). Writes ``recovery.json`` and ``recovery.md``
to ``--out``.

    python benchmarks/evs_refiner_recovery.py --out DIR [--results DIR] [--root CAMVID] [--rerun]
                                              [--set KEY=VALUE ...] [--max-videos N] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from pytracking_ext.errors import PytrackingError
from pytracking_ext.utils.io import atomic_write_text
from segmentation_plugins.run_segmentation import main as run_segmentation

POINTS = ("evs01", "evs03", "evs02", "evs07", "evs06")
# recovery rows: (name, refined point, warp-only point, propagations)
RECOVERIES = (("Recovery 1", "evs02", "evs03", 1), ("Recovery 4", "evs06", "evs07", 4))
ROW_NAMES = {"evs01": "Baseline (ICNet)", "evs03": "EVS 03", "evs02": "EVS 02", "evs07": "EVS 07", "evs06": "EVS 06"}

# thesis Table 3.1 (Cityscapes val, per-class IoU %), columns in this order
THESIS_CLASSES = (
    *("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation"),
    *("terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"),
)
# fmt: off
THESIS_TABLE = {  # point: (mIoU, IoU per THESIS_CLASSES); evs01 = the thesis' ICNet "Baseline" row
    "evs01": (67.3, [97.4, 79.5, 89.4, 49.1, 51.7, 46.1, 47.9, 61.1, 90.3, 58.6, 93.4, 69.9, 43.3, 91.4, 64.8, 75.8, 59.9, 43.9, 65.4]),  # noqa: E501
    "evs03": (66.2, [97.3, 78.9, 89.1, 51.1, 52.1, 41.5, 46.6, 60.4, 89.8, 59.2, 93.1, 66.9, 41.7, 90.5, 64.1, 75.2, 52.1, 44.5, 64.2]),  # noqa: E501
    "evs02": (66.8, [97.3, 79.1, 89.3, 51.0, 52.3, 44.5, 47.1, 61.4, 90.2, 59.5, 93.2, 69.0, 42.5, 90.9, 63.9, 75.5, 52.5, 45.0, 64.9]),  # noqa: E501
    "evs07": (62.2, [96.8, 77.1, 87.4, 50.6, 49.5, 31.3, 43.5, 55.5, 87.9, 55.9, 92.6, 57.9, 35.4, 87.2, 59.8, 72.0, 41.8, 40.3, 58.5]),  # noqa: E501
    "evs06": (63.0, [96.6, 75.6, 87.9, 50.2, 49.8, 36.0, 44.4, 57.5, 89.1, 56.6, 93.2, 63.6, 36.5, 87.5, 59.2, 70.8, 41.5, 41.1, 60.0]),  # noqa: E501
}
# fmt: on
# CamVid's 11 classes (SegNet copy) -> the Cityscapes class compared with; every CamVid class has one.
# pavement = sidewalk, tree = vegetation, signsymbol = traffic sign (CamVid's SignSymbol), pedestrian =
# person, bicyclist = rider (CamVid's Bicyclist is the rider with the bike; Cityscapes splits rider and
# bicycle). Cityscapes' wall, traffic light, terrain, truck, bus, train, motorcycle, bicycle have no row.
CITYSCAPES_CLASS = {
    "sky": "sky",
    "building": "building",
    "pole": "pole",
    "road": "road",
    "pavement": "sidewalk",
    "tree": "vegetation",
    "signsymbol": "traffic sign",
    "fence": "fence",
    "car": "car",
    "pedestrian": "person",
    "bicyclist": "rider",
}


class RecoveryError(PytrackingError):
    """A results.json that is missing, unreadable or not the thesis-mode run of its point."""


def thesis_recovery(refined: str, warped: str) -> dict[str, float]:
    """The thesis' Cityscapes recovery (refined - warp-only) per Cityscapes class, and ``mIoU``."""
    (r_total, r_iou), (w_total, w_iou) = THESIS_TABLE[refined], THESIS_TABLE[warped]
    out = {name: round(r - w, 1) for name, r, w in zip(THESIS_CLASSES, r_iou, w_iou, strict=True)}
    out["mIoU"] = round(r_total - w_total, 1)
    return out


def read_results(path: Path, point: str) -> dict:
    """A point's thesis-mode results.json (checked: its parameter set and ``mode``)."""
    try:
        result = json.loads(path.read_text())
    except FileNotFoundError:
        raise RecoveryError(f"{path}: not found (give --root to compute it)") from None
    except (OSError, ValueError) as error:
        raise RecoveryError(f"{path}: cannot be read as JSON ({error})") from None
    if not isinstance(result, dict) or not isinstance(result.get("class_iou"), dict) or "miou" not in result:
        raise RecoveryError(f"{path}: not a run_segmentation results.json (no 'class_iou' / 'miou')")
    if result.get("param") != point or result.get("mode") != "thesis":
        raise RecoveryError(
            f"{path}: holds {result.get('param')!r} in mode {result.get('mode')!r}, expected {point!r} in mode 'thesis'"
        )
    return result


def _difference(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return None
    return a - b


def build_table(results: dict[str, dict]) -> dict:
    """Rows (point IoU rows, recovery rows, thesis recovery rows) over ``mIoU`` + CamVid's classes."""
    classes = list(results["evs02"]["class_iou"])
    columns = ["mIoU", *classes]

    def row_of(result: dict) -> dict[str, float | None]:
        return {"mIoU": result["miou"], **{c: result["class_iou"].get(c) for c in classes}}

    rows: list[dict] = []
    for point in POINTS:
        if point in results:
            rows.append({"row": ROW_NAMES[point], "values": row_of(results[point])})
    for name, refined, warped, steps in RECOVERIES:
        ours = {c: _difference(row_of(results[refined])[c], row_of(results[warped])[c]) for c in columns}
        rows.append(
            {"row": f"{name} ({ROW_NAMES[refined]} - {ROW_NAMES[warped]}, {steps} propagation(s))", "values": ours}
        )
        theirs = thesis_recovery(refined, warped)
        mapped = {"mIoU": theirs["mIoU"], **{c: theirs[CITYSCAPES_CLASS[c]] for c in classes if c in CITYSCAPES_CLASS}}
        rows.append({"row": f"thesis {name} (Cityscapes)", "values": {c: mapped.get(c) for c in columns}})
    return {"columns": columns, "rows": rows, "cityscapes_class": {c: CITYSCAPES_CLASS.get(c) for c in classes}}


def _cell(value: float | None, signed: bool) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def format_table(table: dict, markdown: bool = False) -> str:
    """The table as aligned text or as Markdown; recovery rows signed."""
    header = ["", *table["columns"]]
    lines = []
    for row in table["rows"]:
        signed = "Recovery" in row["row"]
        lines.append([row["row"], *(_cell(row["values"][c], signed) for c in table["columns"])])
    mapping = ", ".join(f"{c} = {k}" for c, k in table["cityscapes_class"].items() if k and c != k)
    note = f"CamVid class = Cityscapes class in the thesis rows: {mapping}; the others share the name."
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join([*out, "", note]) + "\n"
    width = max(len(cells[0]) for cells in lines)
    out = [f"{'':<{width}}" + "".join(f"{c[:10]:>11}" for c in table["columns"])]
    out += [f"{cells[0]:<{width}}" + "".join(f"{v:>11}" for v in cells[1:]) for cells in lines]
    return "\n".join([*out, note])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for recovery.json / recovery.md")
    parser.add_argument("--results", type=Path, default=None, help="folder of <point>_thesis/results.json")
    parser.add_argument("--root", default=None, help="CamVid root, to compute missing results")
    parser.add_argument("--rerun", action="store_true", help="recompute every point (needs --root)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--max-videos", default=None, help="passed to run_segmentation (quick checks)")
    parser.add_argument("--threads", default="1", help="torch CPU threads of run_segmentation")
    args = parser.parse_args(argv)
    results_dir = args.results or args.out
    if args.rerun and args.root is None:
        print("error: --rerun needs --root (the CamVid root)", file=sys.stderr)
        return 2
    results: dict[str, dict] = {}
    try:
        for point in POINTS:
            path = results_dir / f"{point}_thesis" / "results.json"
            if args.root is not None and (args.rerun or not path.exists()):
                run_args = ["evs", point, "--dataset", "camvid", "--root", args.root, "--mode", "thesis"]
                run_args += ["--out", str(path.parent), "--no-progress", "--threads", args.threads]
                run_args += [arg for value in args.sets for arg in ("--set", value)]
                if args.max_videos is not None:
                    run_args += ["--max-videos", args.max_videos]
                if run_segmentation(run_args) != 0:
                    print(f"error: run_segmentation evs {point} --mode thesis failed", file=sys.stderr)
                    return 1
            if point == "evs01" and not path.exists():
                continue  # the baseline row is optional
            results[point] = read_results(path, point)
        table = build_table(results)
        args.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out / "recovery.json", json.dumps(table, indent=1) + "\n")
        atomic_write_text(args.out / "recovery.md", format_table(table, markdown=True))
    except (RecoveryError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(table))
    print(f"wrote {args.out / 'recovery.json'} and {args.out / 'recovery.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
