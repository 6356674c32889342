"""Per-frame and init time of the RTS tracker at rts50 settings on a 640x480 sequence.

Runs the official tracker_ref sequence of ``../shared`` when present (and then also checks that the
boxes equal the official ones, i.e. the speed is measured at identical outputs), else a generated
640x480 sequence. Weights: seed-0 synthetic weights (``../shared/fixtures/synth_weights.py``) or,
without ``../shared``, seeded random ones. Prints our times and the ratios to the official
implementation's times measured on this machine (fixture README section 4 and the issue text).

    python benchmarks/rts_speed.py [--threads 2] [--device cpu|cuda] [--frames 30] [--repeats 3] [--baseline]
                                   [--precision fp32|bf16|auto] [--official PYTRACKING_CHECKOUT]

With ``--repeats N`` the sequence is tracked N times from a fresh tracker; each frame's time (and
the init time) is the minimum over the runs, the least disturbed one on a shared machine, and
the median is taken over those. ``--baseline`` adds the same tracker without the CPU inference
copy (folded BatchNorms, prepacked convolutions, fused ReLU/add) and with NCHW tensors, run in
turn with ours frame by frame, and prints the ratio measured in that one run. ``--official
CHECKOUT`` does the same with the official tracker of a PyTracking checkout, run through
``benchmarks/official_rts.py`` (its imports need ``pandas``; see that module).

``--precision bf16|auto`` runs ours at that precision (rts50_fast's bf16 islands, see
``pytracking_ext/trackers/rts/bf16.py``); where it resolves to bf16 the fp32 tracker ("ours fp32")
runs in turn with it, the same-run ratio is printed, and the boxes are compared with fp32's and the
official ones by their largest difference. The ``--baseline`` (plain eager) stays fp32.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from pytracking_ext.trackers import get_parameters, get_tracker_class
from pytracking_ext.utils.boxes import mask_to_bbox
from pytracking_ext.utils.io import imread_rgb

ROOT = Path(__file__).resolve().parents[1]

# Official implementation on this machine, CPU, 2 threads: (init s, median per-frame s over frames 2-30).
OFFICIAL = {"fixture README (480x832 crop)": (4.5, 0.93), "issue text": (5.0, 1.75)}


def seed0_weights(shared: Path, out: Path) -> Path:
    """Seed-0 synthetic rts50 weights (fixture manifest), else seeded random ones, saved to ``out``."""
    manifest = shared / "fixtures" / "rts" / "state_dict_manifest.json"
    if manifest.is_file():
        spec = importlib.util.spec_from_file_location("synth_weights", shared / "fixtures" / "synth_weights.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        torch.save(module.make_state_dict(str(manifest), 0), out)
    else:
        from ltr_ext.models.rts import build_rts50

        torch.manual_seed(0)
        torch.save(build_rts50().state_dict(), out)
    return out


def reference_sequence(shared: Path, frames: int | None, scratch: Path):
    """(images, init box, init mask, official boxes or None): tracker_ref, else a generated 640x480 video.

    ``frames`` None: all of tracker_ref's frames (30 generated ones without it).
    """
    ref = shared / "fixtures" / "rts" / "tracker_ref"
    if ref.is_dir():
        paths = sorted((ref / "frames").glob("*.jpg"))[:frames]
        box = [float(v) for v in (ref / "init_box.txt").read_text().split()]
        mask = (imread_rgb(ref / "init_mask.png")[..., 0] > 127).astype(np.uint8)
        return [imread_rgb(p) for p in paths], box, mask, np.loadtxt(ref / "boxes.txt")[:frames]
    from pytracking_ext.synthetic import generate

    folder = generate(
        "davis",
        scratch / "davis",
        num_sequences=1,
        num_frames=frames or 30,
        seed=0,
        height=480,
        width=640,
        num_objects=1,
        progress=False,
    )
    seq_dir = sorted((Path(folder) / "JPEGImages" / "480p").iterdir())[0]
    images = [imread_rgb(p) for p in sorted(seq_dir.glob("*.jpg"))]
    label = imread_rgb(Path(folder) / "Annotations" / "480p" / seq_dir.name / "00000.png")[..., 0] > 0
    return images, mask_to_bbox(label), label.astype(np.uint8), None


def _track(trackers: dict, images, box, mask, device: str) -> dict[str, tuple[float, list[float], list]]:
    """Per tracker: (init time, per-frame times of frames 2.., boxes of all frames) of one run.

    The trackers take turns frame by frame, so that load from other processes hits them alike.
    """

    def timed(call):
        start = time.perf_counter()
        result = call()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return result, time.perf_counter() - start

    runs, outs = {}, {}
    for name, tracker in trackers.items():
        tracker.initialize_features()
        outs[name], init_time = timed(
            lambda tracker=tracker: tracker.initialize(images[0], {"init_bbox": box, "init_mask": mask})
        )
        runs[name] = (init_time, [], [box])
    for image in images[1:]:
        for name, tracker in trackers.items():
            outs[name], elapsed = timed(
                lambda tracker=tracker, image=image, name=name: tracker.track(image, {"previous_output": outs[name]})
            )
            runs[name][1].append(elapsed)
            runs[name][2].append(outs[name]["target_bbox"])
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3, help="track the sequence this many times; min per frame")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also run the tracker without the CPU inference copy and channels-last layout, "
        "frame by frame in turn with ours",
    )
    parser.add_argument(
        "--official",
        type=Path,
        default=None,
        metavar="CHECKOUT",
        help="also run the official tracker of this PyTracking checkout (benchmarks/official_rts.py), "
        "in turn with ours frame by frame",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16", "auto"),
        default="fp32",
        help="precision of ours; bf16/auto also run ours in fp32 in turn with it",
    )
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        params = get_parameters("rts", "rts50")
        params.net.path = str(seed0_weights(args.shared, scratch / "rts50.pth"))
        params.device = args.device
        images, box, mask, reference = reference_sequence(args.shared, args.frames, scratch)
        fast = copy.deepcopy(params)
        fast.net.precision = args.precision
        variants = {"ours": fast}
        low_precision = fast.net.dtype(args.device) != torch.float32
        if low_precision:
            variants["ours fp32"] = params
        if args.baseline:
            plain = copy.deepcopy(params)
            plain.net.cpu_inference, plain.net.channels_last = False, False
            variants["plain eager"] = plain
        tracker_class = get_tracker_class("rts")

        def trackers() -> dict:
            made = {name: tracker_class(p) for name, p in variants.items()}
            if args.official is not None:
                from official_rts import load_official_rts

                made["official"] = load_official_rts(args.official, Path(params.net.path), args.device)
            return made

        runs = [_track(trackers(), images, box, mask, args.device) for _ in range(max(1, args.repeats))]
        names = list(runs[0])
    print(
        f"device {args.device}, {args.threads} threads, {len(images)} frames of "
        f"{images[0].shape[1]}x{images[0].shape[0]}, "
        f"best of {len(runs)} runs per frame, ours: precision {args.precision} "
        f"({'bf16' if low_precision else 'fp32'})"
    )
    medians = {}
    for name in names:
        init_time = min(run[name][0] for run in runs)
        times = [min(frame) for frame in zip(*(run[name][1] for run in runs))]
        medians[name] = (init_time, statistics.median(times))
        print(
            f"{name}: init {init_time:.2f} s, median per frame (frames 2-{len(images)}) {medians[name][1]:.3f} s "
            f"({1 / medians[name][1]:.2f} FPS), first {times[0]:.3f} s, last {times[-1]:.3f} s"
        )
    init_time, median = medians["ours"]
    if "ours fp32" in medians:
        fp32_init, fp32_median = medians["ours fp32"]
        print(
            f"ours ({args.precision}) vs ours fp32 (same run): init {fp32_init / init_time:.2f}x, "
            f"per frame {fp32_median / median:.2f}x"
        )
    if args.baseline:
        plain_init, plain_median = medians["plain eager"]
        print(
            f"ours vs plain eager (same run): init {plain_init / init_time:.2f}x, "
            f"per frame {plain_median / median:.2f}x"
        )
    if "official" in medians:
        official_init, official_median = medians["official"]
        print(
            f"ours vs official (same run): init {official_init / init_time:.2f}x faster, "
            f"per frame {official_median / median:.2f}x faster"
        )
    for source, (official_init, official_frame) in OFFICIAL.items():
        print(
            f"vs official ({source}: init {official_init} s, frame {official_frame} s): "
            f"init {official_init / init_time:.2f}x faster, per frame {official_frame / median:.2f}x faster"
        )
    if "ours fp32" in medians:
        difference = max(
            float(np.abs(np.subtract(run["ours"][2], run["ours fp32"][2], dtype=float)).max()) for run in runs
        )
        print(f"ours ({args.precision}) vs ours fp32: largest box difference {difference:.2f} px")
    if reference is not None:
        for name in names:
            if name == "ours" and low_precision:
                difference = max(float(np.abs(np.asarray(run[name][2], dtype=float) - reference).max()) for run in runs)
                print(f"{name}: largest box difference to the official tracker's {difference:.2f} px")
                continue
            equal = all(np.allclose(np.asarray(run[name][2], dtype=float), reference, atol=1e-4) for run in runs)
            print(f"{name}: boxes equal to the official tracker's on all {len(images)} frames: {equal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
