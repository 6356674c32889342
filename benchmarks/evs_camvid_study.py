"""The EVS study of thesis Tables 3.1/3.2 at this machine's scale, on CamVid val at 15 Hz.

Streams CamVid val (sequence 0016E5: 101 frames labelled every 2nd frame of the 30 Hz video; the
frames in between are not available, so one propagation step here spans 1/15 s) through every
operating point with the ICNet and Refiner trained by ``run_training evs icnet`` / ``evs refiner``
(latest checkpoints of the CamVid preset in ``--workspace``), all in one run:

* per point: mIoU over all frames and per distance from the last key frame, frames per second and
  the speedup against ICNet on every frame;
* the mIoU per propagation step with DIS against Farneback flow (thesis Fig. 3.6; S = 10, warping);
* the fraction of inconsistent pixels after 1, 2 and 4 propagations (Fig. 3.7; S = 10 with the
  eq. 3.3 check run on every propagated frame);
* the Refiner's per-class recovery: propagated frames of EVS 06 (W + R) against EVS 07 (W) (Table 3.1).

Writes ``evs_study.json`` and ``evs_study.png`` to ``--out``.

    LTR_CAMVID_DIR=../shared/data/camvid OMP_NUM_THREADS=1 \\
        python benchmarks/evs_camvid_study.py --workspace WS --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from ltr_ext.admin.checkpoint import latest_checkpoint
from pytracking_ext.utils.io import atomic_write_text
from segmentation_plugins.data import CAMVID, camvid_sequences
from segmentation_plugins.evaluation import ConfusionMatrix
from segmentation_plugins.registry import build_segmenter, segmenter_parameters

POINTS = [f"evs{i:02d}" for i in range(1, 15)] + ["evs_adaptive"]


def _video(camvid: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    sequence = camvid_sequences(camvid, "val")[0]
    items = list(sequence)
    return [item["image"] for item in items], [item["label"] for item in items]


def _params(point: str, icnet: Path, refiner: Path, **overrides):
    params = segmenter_parameters("evs", point)
    params.icnet_weights, params.refiner_weights = str(icnet), str(refiner)
    params.icnet_config, params.num_classes = "small", CAMVID.num_classes
    params.output_upsampling = "bilinear"  # evaluation rule of the reference (docs/evs.md §2.5)
    params.use_gpu = torch.cuda.is_available()
    for key, value in overrides.items():
        setattr(params, key, value)
    return params


def _run(params, frames: list[np.ndarray], labels: list[np.ndarray]) -> dict:
    overall = ConfusionMatrix(CAMVID.num_classes)
    by_distance: dict[int, ConfusionMatrix] = defaultdict(lambda: ConfusionMatrix(CAMVID.num_classes))
    propagated = ConfusionMatrix(CAMVID.num_classes)
    inconsistent: dict[int, list[float]] = defaultdict(list)
    with build_segmenter("evs", params) as segmenter:
        list(segmenter.segment_video(frames[:3]))  # warm-up: threads, allocator
        segmenter.reset()
        start = time.perf_counter()
        outputs = list(segmenter.segment_video(frames))
        seconds = time.perf_counter() - start
    distance, keys = 0, 0
    for output, label in zip(outputs, labels):
        distance = 0 if output.info.get("keyframe") else distance + 1
        keys += distance == 0
        overall.update(output.labels, label)
        by_distance[distance].update(output.labels, label)
        if distance:
            propagated.update(output.labels, label)
        if output.info.get("inconsistent_fraction") is not None and distance:
            inconsistent[distance].append(float(output.info["inconsistent_fraction"]))
    return {
        "miou": 100 * overall.miou(),
        "fps": len(frames) / seconds,
        "keyframes": keys,
        "miou_by_distance": {d: 100 * m.miou() for d, m in sorted(by_distance.items())},
        "propagated_class_iou": [None if np.isnan(v) else 100 * float(v) for v in propagated.iou()],
        "inconsistent_by_distance": {d: 100 * float(np.mean(v)) for d, v in sorted(inconsistent.items())},
    }


def _plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for name, run in result["flow_methods"].items():
        steps = sorted(int(d) for d in run["miou_by_distance"])
        axes[0].plot(steps, [run["miou_by_distance"][d] for d in steps], marker="o", label=name)
    axes[0].set(
        xlabel="propagation steps since the key frame (1 step = 1/15 s)",
        ylabel="mIoU (%)",
        title="label propagation, S = 10 (Fig. 3.6)",
    )
    axes[0].legend()
    base = result["icnet_every_frame"]["fps"]
    for name, run in result["points"].items():
        axes[1].scatter(run["fps"] / base, run["miou"], color="tab:red" if "adaptive" in name else "tab:blue")
        axes[1].annotate(name.replace("evs", ""), (run["fps"] / base, run["miou"]), fontsize=7)
    axes[1].axhline(result["icnet_every_frame"]["miou"], color="grey", ls="--", label="ICNet every frame")
    axes[1].set(
        xscale="log",
        xlabel="speedup over ICNet on every frame",
        ylabel="mIoU (%)",
        title="operating points (Table 3.2)",
    )
    axes[1].legend()
    frac = result["flow_methods"]["dis"]["inconsistent_by_distance"]
    steps = sorted(int(d) for d in frac)
    axes[2].bar([str(d) for d in steps], [frac[d] for d in steps])
    axes[2].set(
        xlabel="propagation steps (1/15 s each)",
        ylabel="inconsistent pixels (%)",
        title="eq. 3.3 inconsistency, S = 10, DIS (Fig. 3.7)",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--camvid", default=None, help="CamVid root (default: LTR_CAMVID_DIR)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--points", nargs="+", default=POINTS)
    args = parser.parse_args(argv)
    if args.camvid is None:
        from ltr_ext.admin.environment import env_settings

        args.camvid = str(env_settings().require("camvid_dir"))
    folder = args.workspace / "checkpoints" / "ltr" / "evs"
    icnet = latest_checkpoint(folder / "icnet_camvid_small")
    refiner = latest_checkpoint(folder / "refiner_camvid_small_k1")
    if icnet is None or refiner is None:
        print(
            f"error: train 'evs icnet' and 'evs refiner' (CamVid preset) into {args.workspace} first", file=sys.stderr
        )
        return 2
    frames, labels = _video(args.camvid)
    result: dict = {"icnet": str(icnet), "refiner": str(refiner), "frames": len(frames), "points": {}}
    base = _run(_params("evs08", icnet, refiner, keyframe_interval=1, keyframe_blend=False), frames, labels)
    result["icnet_every_frame"] = base
    print(f"ICNet every frame: mIoU {base['miou']:.2f}, {base['fps']:.2f} FPS", flush=True)
    print(
        f"{'point':<13}{'D':>4}{'S':>4}{'W':>3}{'R':>3}{'keys':>6}{'mIoU':>8}{'prop mIoU':>10}{'FPS':>8}"
        f"{'speedup':>9}{'thesis x':>9}",
        flush=True,
    )
    for point in args.points:
        params = _params(point, icnet, refiner)
        run = _run(params, frames, labels)
        result["points"][point] = run
        prop = [v for d, v in run["miou_by_distance"].items() if d > 0]
        thesis = params.get("thesis_fps", None)
        print(
            f"{point:<13}{params.downscale:>4}{params.keyframe_interval:>4}{'y' if params.warp else 'n':>3}"
            f"{'y' if params.refine else 'n':>3}{run['keyframes']:>6}{run['miou']:>8.2f}"
            f"{(np.mean(prop) if prop else float('nan')):>10.2f}{run['fps']:>8.2f}{run['fps'] / base['fps']:>9.2f}"
            f"{(thesis / 39 if thesis else float('nan')):>9.2f}",
            flush=True,
        )
    result["flow_methods"] = {}
    for method in ("dis", "farneback"):
        # adaptive threshold 0.999 (practically) never forces a key frame but runs the eq. 3.3 check on
        # every propagated frame
        run = _run(_params("evs10", icnet, refiner, flow_method=method, adaptive_threshold=0.999), frames, labels)
        result["flow_methods"][method] = run
        print(
            f"S=10 W with {method:<10} mIoU by steps: "
            + " ".join(f"{d}:{v:.1f}" for d, v in run["miou_by_distance"].items()),
            flush=True,
        )
    fractions = result["flow_methods"]["dis"]["inconsistent_by_distance"]
    print(
        "inconsistent pixels after n propagations (S=10, DIS): "
        + ", ".join(f"{d}: {fractions[d]:.2f} %" for d in (1, 2, 4) if d in fractions)
    )
    if {"evs06", "evs07"} <= set(result["points"]):
        print("Refiner recovery on propagated frames (EVS 06 W+R minus EVS 07 W), IoU points per class:")
        for name, refined, warped in zip(
            CAMVID.names,
            result["points"]["evs06"]["propagated_class_iou"],
            result["points"]["evs07"]["propagated_class_iou"],
        ):
            if refined is not None and warped is not None:
                print(f"  {name:<12} {warped:6.2f} -> {refined:6.2f} ({refined - warped:+.2f})")
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "evs_study.json", json.dumps(result, indent=1) + "\n")
    _plot(result, args.out / "evs_study.png")
    print(f"wrote {args.out / 'evs_study.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
