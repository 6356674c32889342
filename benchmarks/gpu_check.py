"""One-process device check: RTS parity on the device (fp32, TF32 off), then speed of RTS, LMANet and EVS.

(a) Parity of the rts50 network (training-style forward: mask logits and all classifier iterates,
    relative error as in ``benchmarks/rts_parity.py``) and of the rts50 tracker (largest box
    difference, mask pixels differing per frame) against the official fixtures
    ``<shared>/fixtures/rts``, seed-0 synthetic weights, fp32 with TF32 off, on ``--device``.
    Each figure is compared with the bound the test suite asserts on the CPU
    (``tests/test_rts_network.py``, ``tests/test_rts_tracker.py``).
(b) Speed at ``--size HxW`` (the RTS search-area crop; also the frame size), ``--frames N``:

    - ``rts tracker``: ``tracker.track`` per frame on a generated sequence, rts50 (fp32) and a copy
      of rts50's parameters with ``net.precision = 'bf16'`` (and ``rts50_fast`` when that set
      exists). Whatever the tracker does per frame counts, its own host round trips included
      (it returns numpy masks). Each frame is timed on its own (device synchronised after it).
    - ``rts net step``: the tracker's per-frame network work on a fixed crop (normalise, backbone,
      segmentation and classification features, classifier scores, score encoder, target model
      and decoder) with the tracker's own network (its bf16 islands when its precision resolves to
      bf16) and tau and kappa from its initialisation, plus the box of the mask computed on the
      device (the crop is normalised once, outside). N steps are queued back to back; the device
      is synchronised only before and after the timed loop and the host reads the N boxes once,
      at the end. With ``--cuda-graphs`` /
      ``--compile`` also replayed as a CUDA graph / compiled with ``torch.compile(mode=
      'reduce-overhead')`` (CUDA only; a failure is printed as the row's note, the check goes on).
    - ``lmanet step``: one LMANet streaming step (``LMANetStreamer.step``: encode, memorise, local
      read P=21 over S=3 frames, fuse, decode; random weights) on an HxW frame, fp32 and bf16 (the
      network cast as the LMANet segmenter does; the memory read stays fp32), timed like the net step.
    - ``evs evs03``: frames per second of the EVS operating point evs03 (random weights) through its
      threaded pipeline on a generated HxW clip, precision fp32 and bf16 (ICNet and Refiner).

(c) One table: what, precision, mode, frames, ms per frame, frames per second, note.

Run it on a GPU machine from the repository root, with the packages of the project importable
(``pip install -e .`` or ``PYTHONPATH=.``). The fixtures go into the ignored ``.device/`` folder
first, which travels to the device machine as a carried path (4.4 MiB)::

    mkdir -p .device/shared/fixtures && cp -r ../shared/fixtures/rts ../shared/fixtures/synth_weights.py \\
        .device/shared/fixtures/
    PYTHONPATH=. PYTRACKING_EXT_SHARED=.device/shared python benchmarks/gpu_check.py --device cuda \\
        --size 480x832 --frames 100 --cuda-graphs --compile

(``--compile`` adds a compilation per compiled step, possibly minutes; leave it out when time is short.)

On the CPU (what the test suite runs, tiny sizes)::

    python benchmarks/gpu_check.py --device cpu --size 64x96 --frames 4 --skip-parity

``--shared`` defaults to ``$PYTRACKING_EXT_SHARED``, else ``../shared``. Exit status 1 when a parity
figure is above its bound, 0 otherwise (also when the fixtures are absent: that is printed).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ltr_ext.admin.loading import load_state_dict_strict
from ltr_ext.models.rts import build_rts50
from pytracking_ext.evaluation.network_loading import normalize_patches
from pytracking_ext.trackers import get_parameters, get_tracker_class
from pytracking_ext.utils.io import imread_rgb

# siblings in benchmarks/ (python puts the script's folder on the path; importers add it themselves)
from rts_parity import INPUTS, relative_error
from rts_speed import reference_sequence, seed0_weights

ROOT = Path(__file__).resolve().parents[1]
# the bounds of tests/test_rts_network.py and tests/test_rts_tracker.py
NETWORK_BOUND = 1e-3  # relative error of mask logits and classifier iterates
BOX_BOUND = 1e-4  # pixels
MASK_BOUND = 1e-3  # share of the mask pixels differing on a frame
LMANET_WINDOW = 21


@dataclass
class Row:
    what: str
    precision: str
    mode: str
    frames: int = 0
    seconds: float = float("nan")  # per frame
    note: str = ""


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def default_shared() -> Path:
    env = os.environ.get("PYTRACKING_EXT_SHARED")
    return Path(env) if env else ROOT.parent / "shared"


def parse_size(text: str) -> tuple[int, int]:
    height, _, width = text.lower().partition("x")
    return int(height), int(width)


# ------------------------------------------------------------------------------------------ (a)


def network_parity(weights: Path, outputs: dict[str, np.ndarray], device: torch.device) -> dict[str, float]:
    """Relative errors of the training-style forward on ``device`` (as ``rts_parity.network_errors``)."""
    net = build_rts50()
    load_state_dict_strict(net, torch.load(weights, weights_only=True))
    net.to(device).eval()
    with torch.no_grad():
        inputs = (torch.from_numpy(outputs[f"in_{name}"]).to(device) for name in INPUTS)
        masks, scores = net(*inputs, num_refinement_iter=2)
    return {
        "out_mask_pred": relative_error(masks.cpu(), outputs["out_mask_pred"]),
        "out_clf_scores_all_iters": relative_error(torch.stack(scores).cpu(), outputs["out_clf_scores_all_iters"]),
    }


def tracker_parity(weights: Path, shared: Path, scratch: Path, device: torch.device) -> tuple[int, float, float]:
    """Frames, largest box difference (px) and largest differing mask share of the rts50 tracker on ``device``."""
    images, box, mask, boxes = reference_sequence(shared, None, scratch)
    params = get_parameters("rts", "rts50")
    params.net.path, params.device = str(weights), str(device)
    tracker = get_tracker_class("rts")(params)
    out = tracker.initialize(images[0], {"init_bbox": box, "init_mask": mask})
    box_error, mask_share = 0.0, 0.0
    masks = shared / "fixtures" / "rts" / "tracker_ref" / "masks"
    for index, image in enumerate(images[1:], start=1):
        out = tracker.track(image, {"previous_output": out})
        box_error = max(box_error, float(np.abs(np.asarray(out["target_bbox"]) - boxes[index]).max()))
        expected = imread_rgb(masks / f"{index + 1:05d}.png")[..., 0] > 127
        mask_share = max(mask_share, float(((out["segmentation"] > 0) != expected).mean()))
    return len(images), box_error, mask_share


def run_parity(shared: Path, device: torch.device) -> bool:
    folder = shared / "fixtures" / "rts"
    if not (folder / "outputs.npz").is_file() or not (folder / "tracker_ref").is_dir():
        print(f"parity: skipped, no official fixtures under {folder} (outputs.npz / tracker_ref missing)")
        return True
    ok = True

    def report(name: str, value: float, bound: float, unit: str = "") -> None:
        nonlocal ok
        ok &= value <= bound
        print(f"parity {name}: {value:.2e}{unit} (bound {bound:.0e}{unit}) {'ok' if value <= bound else 'ABOVE'}")

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        weights = seed0_weights(shared, Path(tmp) / "rts50_seed0.pth")
        for key, error in network_parity(weights, dict(np.load(folder / "outputs.npz")), device).items():
            report(f"network {key} relative error", error, NETWORK_BOUND)
        frames, box_error, mask_share = tracker_parity(weights, shared, Path(tmp), device)
    report(f"tracker ({frames} frames) largest box difference", box_error, BOX_BOUND, " px")
    report("tracker largest share of mask pixels differing on a frame", mask_share, MASK_BOUND)
    print(
        f"parity on {device}: {'all within bounds' if ok else 'SOME ABOVE BOUND'} ({time.perf_counter() - start:.1f} s)"
    )
    return ok


# ------------------------------------------------------------------------------------------ (b)


def generated_frames(size: tuple[int, int], count: int, scratch: Path) -> tuple[list[np.ndarray], list, np.ndarray]:
    """``count`` RGB frames of a generated one-object DAVIS sequence, its first box and mask."""
    from pytracking_ext.synthetic import generate
    from pytracking_ext.utils.boxes import mask_to_bbox

    height, width = size
    folder = generate(
        "davis",
        scratch / "davis",
        num_sequences=1,
        num_frames=count,
        seed=0,
        height=height,
        width=width,
        num_objects=1,
        progress=False,
    )
    seq_dir = sorted((Path(folder) / "JPEGImages" / "480p").iterdir())[0]
    images = [imread_rgb(p) for p in sorted(seq_dir.glob("*.jpg"))]
    label = imread_rgb(Path(folder) / "Annotations" / "480p" / seq_dir.name / "00000.png")[..., 0] > 0
    return images, mask_to_bbox(label), label.astype(np.uint8)


def rts_params(name: str, weights: Path, device: torch.device, crop: tuple[int, int], precision: str | None):
    params = copy.deepcopy(get_parameters("rts", name))
    params.net.path, params.device = str(weights), str(device)
    params.image_sample_size = params.clf_image_sample_size = crop
    if precision is not None:
        params.net.precision = precision
    return params


def time_tracker(params, images, box, mask, device: torch.device) -> tuple[list[float], object]:
    """Per-frame seconds of ``track`` on frames 2.. (each synchronised after), and the tracker."""
    tracker = get_tracker_class("rts")(params)
    out = tracker.initialize(images[0], {"init_bbox": box, "init_mask": mask})
    times = []
    for image in images[1:]:
        start = time.perf_counter()
        out = tracker.track(image, {"previous_output": out})
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times, tracker


def box_of_mask(logits: torch.Tensor) -> torch.Tensor:
    """[x0, y0, x1, y1] of the positive logits (all -1 when none), on the device: no host round trip."""
    mask = logits[0, 0] > 0
    rows, cols = mask.any(1), mask.any(0)
    ys, xs = torch.arange(rows.numel(), device=mask.device), torch.arange(cols.numel(), device=mask.device)
    box = torch.stack(
        [
            torch.where(cols, xs, cols.numel()).min(),
            torch.where(rows, ys, rows.numel()).min(),
            torch.where(cols, xs, -1).max(),
            torch.where(rows, ys, -1).max(),
        ]
    )
    return torch.where(mask.any(), box, -1)


def rts_net_step(tracker, crop: torch.Tensor) -> Callable[[], torch.Tensor]:
    """The tracker's per-frame network work on ``crop`` (RGB 0-255, (1, 3, H, W) on the device).

    The crop is normalised once, outside the step (it is the same every frame; an elementwise
    operation whose constants are copied from the host, which a CUDA graph capture would refuse).
    """
    net, tau, kappa = tracker.net, tracker.tau, tracker.clf.kappa
    size = tuple(crop.shape[-2:])
    with torch.no_grad():
        x = normalize_patches(crop, tracker.params.net)

    def step() -> torch.Tensor:
        feat = net.extract_backbone_features(x)
        x_s = net.extract_target_model_features(feat["layer3"])
        scores = net.classify(kappa, net.extract_classification_feat(feat["layer3"])[:, None])
        encoded = net.clf_encoder(scores, with_weights=False)
        logits, _ = net.segment_target(tau, x_s[:, None], feat, encoded, size)
        return box_of_mask(logits)

    return step


def wrap(step: Callable[[], torch.Tensor], mode: str, device: torch.device) -> Callable[[], torch.Tensor]:
    """``step`` as run in ``mode``: 'eager', 'cuda graph' (captured once, replayed) or 'compile'
    (``torch.compile(mode='reduce-overhead')``, CUDA graphs through the compiler)."""
    if mode == "eager":
        return step
    if device.type != "cuda":
        raise RuntimeError(f"{mode} needs CUDA")
    if mode == "compile":
        compiled = torch.compile(step, mode="reduce-overhead")

        def run() -> torch.Tensor:
            torch.compiler.cudagraph_mark_step_begin()  # each call is a new step: outputs may be reused
            return compiled()

        return run
    with torch.inference_mode():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static = step()

    def replay() -> torch.Tensor:
        graph.replay()
        return static

    return replay


def time_steps(step: Callable[[], torch.Tensor], count: int, device: torch.device, keep: bool = False, warmup: int = 3):
    """Seconds per step of ``count`` steps queued back to back, and the host copy of the last output
    (``keep``: of every step's output, stacked; for small outputs such as boxes)."""
    with torch.inference_mode():
        for _ in range(warmup):
            step()
        synchronize(device)
        start = time.perf_counter()
        if keep:
            last = torch.stack([step().clone() for _ in range(count)])  # clone: a graph replay reuses its output
        else:
            for _ in range(count):
                last = step()
        last = last.cpu()  # the one host read, which waits for the device
        synchronize(device)
        return (time.perf_counter() - start) / count, last


def measure(rows: list[Row], row: Row, call: Callable[[], tuple[float, str]]) -> None:
    """Fill ``row`` from ``call`` (seconds per frame, note); a failure becomes the row's note."""
    try:
        row.seconds, note = call()
        row.note = "; ".join(filter(None, [row.note, note]))
    except Exception as error:  # noqa: BLE001 - a failed variant is reported, the check goes on
        row.note = f"failed: {type(error).__name__}: {str(error).splitlines()[0][:100] if str(error) else ''}"
        traceback.print_exc(file=sys.stderr)
    rows.append(row)
    print(format_row(row), flush=True)


def precisions_for(device: torch.device) -> list[tuple[str, str]]:
    """(label, NetworkSpec precision) pairs: fp32 always, bf16 (noting an fp32 fallback)."""
    from pytracking_ext.evaluation.precision import native_bf16

    return [("fp32", "fp32"), ("bf16" if native_bf16(device.type) else "bf16 (not native)", "bf16")]


def run_speed(args: argparse.Namespace, device: torch.device) -> list[Row]:
    rows: list[Row] = []
    height, width = args.size
    crop = (max(16, height // 16 * 16), max(16, width // 16 * 16))
    modes = ["eager"] + (["cuda graph"] if args.cuda_graphs else []) + (["compile"] if args.compile else [])
    if device.type != "cuda" and len(modes) > 1:
        print("--cuda-graphs / --compile: CUDA only, skipped on this device")
        modes = ["eager"]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        weights = seed0_weights(args.shared, scratch / "rts50.pth")
        images, box, mask = generated_frames((height, width), args.frames + 1, scratch)
        variants = [("rts50", label, precision) for label, precision in precisions_for(device)]
        try:
            get_parameters("rts", "rts50_fast")
            variants.append(("rts50_fast", get_parameters("rts", "rts50_fast").net.precision, None))
        except Exception:  # noqa: BLE001 - the set may not exist yet
            print("rts50_fast: no such parameter set (yet), rows for rts50 with precision 'bf16' only")
        for name, label, precision in variants:
            params = rts_params(name, weights, device, crop, precision)
            holder: dict = {}

            def tracker_call(params=params, holder=holder) -> tuple[float, str]:
                times, holder["tracker"] = time_tracker(params, images, box, mask, device)
                return statistics.median(times), f"mean {1000 * statistics.fmean(times):.1f} ms"

            measure(rows, Row(f"rts tracker {name}", label, "eager", args.frames), tracker_call)
            if "tracker" not in holder:
                continue
            tracker = holder["tracker"]
            patch = torch.from_numpy(images[-1][: crop[0], : crop[1]].copy()).permute(2, 0, 1)[None].float()
            patch = torch.nn.functional.pad(patch, (0, crop[1] - patch.shape[-1], 0, crop[0] - patch.shape[-2]))
            step = rts_net_step(tracker, patch.to(device))
            dtype = str(getattr(tracker, "dtype", "float32")).removeprefix("torch.")
            for mode in modes:

                def net_call(step=step, mode=mode) -> tuple[float, str]:
                    seconds, boxes = time_steps(wrap(step, mode, device), args.frames, device, keep=True)
                    return seconds, f"last box {boxes[-1].tolist()}"

                note = f"tracker's network, islands in {dtype}"
                measure(rows, Row(f"rts net step {name}", label, mode, args.frames, note=note), net_call)
        lmanet_rows(rows, args, device, modes)
        evs_row(rows, args, device)
    return rows


def lmanet_rows(rows: list[Row], args: argparse.Namespace, device: torch.device, modes: list[str]) -> None:
    """LMANet streaming steps (``LMANetStreamer.step``: encode, memorise, local read, fuse, decode)."""
    from pytracking_ext.evaluation.precision import resolve_precision
    from segmentation_plugins.lmanet import build_lmanet
    from segmentation_plugins.lmanet.inference import LMANetStreamer

    height, width = args.size
    torch.manual_seed(0)
    frame = torch.rand(1, 3, height, width, device=device)
    for label, precision in precisions_for(device):
        for mode in modes:

            def call(precision=precision, mode=mode) -> tuple[float, str]:
                dtype = resolve_precision(precision, device)
                model = build_lmanet(window=LMANET_WINDOW).to(device).eval()
                if dtype != torch.float32:  # as the LMANet segmenter casts its copy
                    model = model.to(dtype=dtype, memory_format=torch.channels_last)
                streamer = LMANetStreamer(model)
                seconds, _ = time_steps(wrap(lambda: streamer.step(frame), mode, device), args.frames, device)
                return seconds, f"network in {str(dtype).removeprefix('torch.')}, memory read fp32"

            measure(rows, Row(f"lmanet step P={LMANET_WINDOW} S=3", label, mode, args.frames), call)


def evs_row(rows: list[Row], args: argparse.Namespace, device: torch.device) -> None:
    """Frames per second of the evs03 operating point through its threaded pipeline (random weights)."""
    from evs_speed import make_frames, point_params
    from segmentation_plugins.registry import build_segmenter

    height, width = args.size
    options = argparse.Namespace(config=args.evs_config, device=device.type)
    frames = make_frames((width, height), args.frames, cut=False)
    warmup = make_frames((width, height), 3, seed=10, cut=False)
    for label, precision in precisions_for(device):

        def call(precision=precision) -> tuple[float, str]:
            segmenter = build_segmenter("evs", point_params("evs03", options, precision=precision))
            try:
                segmenter.segment_clip(warmup)
                segmenter.reset()
                synchronize(device)
                start = time.perf_counter()
                count = sum(1 for _ in segmenter.segment_video(frames))
                synchronize(device)
                return (time.perf_counter() - start) / count, f"ICNet '{args.evs_config}', threaded pipeline"
            finally:
                segmenter.close()

        measure(rows, Row("evs evs03", label, "pipeline", args.frames), call)


# ------------------------------------------------------------------------------------------ (c)

HEADER = f"{'what':<28} {'precision':<18} {'mode':<11} {'frames':>6} {'ms/frame':>9} {'fps':>8}  note"


def format_row(row: Row) -> str:
    fps = 1.0 / row.seconds if row.seconds > 0 else float("nan")
    return (
        f"{row.what:<28} {row.precision:<18} {row.mode:<11} {row.frames:>6} {1000 * row.seconds:>9.2f} "
        f"{fps:>8.1f}  {row.note}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cuda or cpu")
    parser.add_argument("--size", type=parse_size, default=(480, 832), help="H x W of the crop / frames")
    parser.add_argument("--frames", type=int, default=50, help="frames (steps) timed per row")
    parser.add_argument("--shared", type=Path, default=None, help="default $PYTRACKING_EXT_SHARED, else ../shared")
    parser.add_argument("--skip-parity", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--cuda-graphs", action="store_true", help="also replay the steps as CUDA graphs")
    parser.add_argument("--compile", action="store_true", help="also torch.compile(mode='reduce-overhead') them")
    parser.add_argument("--evs-config", default="standard", choices=("standard", "small"))
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    args.shared = args.shared or default_shared()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"gpu_check: torch {torch.__version__} on {device} ({name}), TF32 off, shared {args.shared}")
    ok = True
    if args.skip_parity:
        print("parity: skipped (--skip-parity)")
    else:
        ok = run_parity(args.shared, device)
    if not args.skip_speed:
        print(f"speed at {args.size[0]}x{args.size[1]}, {args.frames} frames per row:")
        print(HEADER)
        rows = run_speed(args, device)
        print(f"\ntable ({device}, {name}, {args.size[0]}x{args.size[1]}):")
        print(HEADER)
        for row in rows:
            print(format_row(row))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
