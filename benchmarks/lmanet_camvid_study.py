"""The paper's claim at this machine's scale: single-frame baseline vs LMANet on CamVid val at 15 Hz.

Evaluates the checkpoints of ``run_training lmanet lite0_camvid`` found in a workspace (single
frame; stage 1 and 2 of each memory configuration) by streaming CamVid val (sequence 0016E5, 101
frames labelled at 15 Hz; the memory rolls over the whole run), with the memory size at inference
set to 1..4 for the main model (thesis Table 4.10), and its window side (1, 11, 41) or global
attention swapped in at inference (the heads' weights do not depend on them; the thesis retrains
each, which this machine's budget does not allow). Prints mIoU, the temporal flip rate and FPS,
writes ``study.json`` and ``study.png`` to ``--out``.

    LTR_CAMVID_DIR=../shared/data/camvid python benchmarks/lmanet_camvid_study.py --workspace WS --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ltr_ext.admin.checkpoint import latest_checkpoint
from pytracking_ext.utils.io import atomic_write_text
from segmentation_plugins.data import CAMVID
from segmentation_plugins.evaluation.runner import evaluate
from segmentation_plugins.registry import build_segmenter, segmenter_parameters

PRESET = "lite0_camvid"
MAIN = "LMANet S3_P21 stage2"


def _runs(workspace: Path) -> list[tuple[str, Path, str]]:
    """(label, checkpoint, parameter set) of every trained model, baseline first."""
    folder = workspace / "checkpoints" / "ltr" / "lmanet"
    found = []
    single = latest_checkpoint(folder / f"{PRESET}_single")
    if single is not None:
        found.append(("single frame", single, f"{PRESET}_single"))
    for path in sorted(folder.glob(f"{PRESET}_stage*_S*")):
        checkpoint = latest_checkpoint(path)
        if checkpoint is not None:
            stage, config = path.name[len(PRESET) + 1 :].split("_", 1)
            found.append((f"LMANet {config} {stage}", checkpoint, PRESET))
    return found


def _evaluate(
    checkpoint: Path, param: str, camvid: str, memory_size: int | None, reading: dict | None = None
) -> tuple[dict, int | None]:
    """Scores and the memory size used (None: a single-frame network); ``reading`` sets window/attention."""
    params = segmenter_parameters("lmanet", param)
    params.net_path = str(checkpoint)
    params.use_gpu = torch.cuda.is_available()
    if memory_size is not None:
        params.memory_size = memory_size
    for key, value in (reading or {}).items():
        setattr(params, key, value)
    with build_segmenter("lmanet", params) as segmenter:
        report = evaluate(segmenter, CAMVID, "camvid", camvid, "val", "stream", progress=False)
        used = segmenter.streamer.memory_size if segmenter.streamer is not None else None
    return report.as_dict(), used


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['model']}\nS={r['memory_at_inference'] or '-'}" for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.1 * len(rows)), 4.5))
    axes[0].bar(range(len(rows)), [r["miou"] for r in rows], color="tab:blue")
    axes[0].set_ylabel("mIoU (%) CamVid val, 15 Hz stream")
    axes[1].bar(range(len(rows)), [r["temporal_flip_rate"] for r in rows], color="tab:orange")
    axes[1].set_ylabel("unexplained label flips (% of stable pixels)")
    for ax in axes:
        ax.set_xticks(range(len(rows)), labels, rotation=60, ha="right", fontsize=7)
    low = min(r["miou"] for r in rows)
    axes[0].set_ylim(max(0, low - 5), max(r["miou"] for r in rows) + 2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, required=True, help="workspace of the training runs")
    parser.add_argument("--camvid", default=None, help="CamVid root (default: LTR_CAMVID_DIR)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--memory-sizes",
        type=int,
        nargs="+",
        default=[1, 2, 3, 4],
        help="memory sizes at inference for the main model (stage 2, S3_P21)",
    )
    parser.add_argument(
        "--windows",
        type=int,
        nargs="+",
        default=[1, 11, 21, 41],
        help="window sides at inference for the main model (the weights do not depend on P)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.camvid is None:
        from ltr_ext.admin.environment import env_settings

        args.camvid = str(env_settings().require("camvid_dir"))
    runs = _runs(args.workspace)
    if not runs:
        print(f"error: no lite0_camvid checkpoints under {args.workspace}/checkpoints/ltr/lmanet", file=sys.stderr)
        return 2
    rows = []
    for label, checkpoint, param in runs:
        variants = [(None, {})]
        if label == MAIN:
            variants = [(size, {}) for size in args.memory_sizes]
            variants += [(None, {"window": window}) for window in args.windows if window != 21]
            variants += [(None, {"attention": "global"})]
        for size, reading in variants:
            result, used = _evaluate(checkpoint, param, args.camvid, size, reading)
            name = label + "".join(f", {k}={v} at inference" for k, v in reading.items())
            row = {
                "model": name,
                "checkpoint": str(checkpoint),
                "memory_at_inference": used,
                "miou": result["miou"],
                "temporal_flip_rate": result["temporal_flip_rate"],
                "fps": result["fps"],
                "class_iou": result["class_iou"],
            }
            rows.append(row)
            print(
                f"{name:<48} S={used or '-':<3} mIoU {row['miou']:6.2f}  flips {row['temporal_flip_rate']:6.3f} %  "
                f"{row['fps']:6.2f} FPS   ({checkpoint.name})",
                flush=True,
            )
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "study.json", json.dumps(rows, indent=1) + "\n")
    _plot(rows, args.out / "study.png")
    print(f"wrote {args.out / 'study.json'} and {args.out / 'study.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
