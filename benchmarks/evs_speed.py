"""EVS speed: propagation cost per frame, and throughput of every operating point against its bound.

(a) Propagation cost per frame (flow + warps + IAM, each step and the totals) at 2048x1024 and
    512x256: RGB→gray, DIS (thesis setting) on the full-resolution gray frames, the flow resized to
    the propagation (1/4) and feature (1/16) grids, the warps of P (19 classes), L and F (the
    config's feature channels), the IAM check (L_F, L_BF, eq. 3.3), the IAM mask + blend (eq. 3.4)
    and the label upsampling to the frame size. Medians of repeated calls.
(b) Every operating point (evs01-evs14, evs_adaptive) on a generated textured sequence at
    ``--size`` (camera pan, an object moving on its own, a scene cut half-way), through the
    concurrent pipeline (``threaded``) and, for the bound, through the same steps run serially.
    All in one run, networks with random weights (speed only):

    - fps: frames / (first frame taken → last output ready), the threaded pipeline;
    - speedup: fps / fps of ICNet (D = 1) on every frame through the same pipeline at the same
      precision, that baseline measured again for every point and interleaved with it (baseline
      pass, point pass, alternately ``--repeats`` times; best of each), so a load that comes and
      goes during the run hits a point and its baseline alike (``base fps``: that baseline);
    - t_key, t_prop: serial cost of a key frame (ICNet at the point's D) and the mean serial cost
      of a non-key frame (flow + warps, + Refiner and IAM on refined frames), medians per kind;
    - bound: the speedup of running those costs one after the other, S / (1 + (S - 1) t_prop /
      t_key) for a point at D = 1; in general N t_base / (n_key t_key + n_prop t_prop) with the run's
      own counts (t_base: serial ICNet at D = 1 per frame), so D = 0.5 and adaptive points fit too.
      Overlapping CPU and network work can beat it ("above") when they do not share cores;
    - within 10 %: measured speedup >= 0.9 x bound;
    - precision (``--precision fp32,bf16``, all in the same run): the dtype of ICNet and the
      Refiner (``segmentation_plugins/evs/segmenter.py``; P, L, warps and IAM stay fp32); every
      point and its baseline at each precision, ``vs fp32``: fps against the same point in fp32. A
      precision that resolves to fp32 here (bf16 without native support) is not measured twice.

    python benchmarks/evs_speed.py [--size 2048x1024] [--frames 40] [--threads 1] [--device auto]
                                   [--config standard|small] [--points evs03,evs07,...]
                                   [--precision fp32,bf16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import cv2
import numpy as np
import torch

from parameter.evs import OPERATING_POINTS
from pytracking_ext.cli import add_set_argument
from pytracking_ext.evaluation.precision import resolve_precision
from segmentation_plugins.evs.flow import FlowEstimator
from segmentation_plugins.evs.iam import InconsistencyAttention, inconsistency_map
from segmentation_plugins.evs.models.icnet import ICNET_CONFIGS
from segmentation_plugins.evs.warp import Warper, to_blocks
from segmentation_plugins.registry import build_segmenter, segmenter_parameters

DEFAULT_POINTS = [*OPERATING_POINTS, "evs_adaptive"]
CLASSES = 19


# ------------------------------------------------------------------------------------------ frames


def _noise(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Multi-octave smooth colour noise in 0..255 (texture for the flow)."""
    image = np.zeros((height, width, 3), np.float32)
    for scale in (4, 16, 64, 256):
        if scale > max(height, width):
            continue
        small = rng.random((height // scale + 2, width // scale + 2, 3)).astype(np.float32)
        image += (
            cv2.resize(small, (width + 2 * scale, height + 2 * scale), interpolation=cv2.INTER_CUBIC)[:height, :width]
            * scale
        )
    image -= image.min()
    return image * (255.0 / max(float(image.max()), 1e-6))


def make_frames(size: tuple[int, int], count: int, seed: int = 0, cut: bool = True) -> list[np.ndarray]:
    """RGB frames: the camera pans right by width/256 px per frame, a textured box moves 4x as fast
    to the left; with ``cut`` the second half shows another scene (the adaptive point reacts)."""
    width, height = size
    step = max(1, width // 256)
    scenes = []
    for scene in range(2 if cut else 1):
        rng = np.random.default_rng(seed + scene)
        scenes.append(
            (
                _noise(height, width + step * count, rng).astype(np.uint8),
                _noise(height // 4, width // 8, rng).astype(np.uint8),
            )
        )
    frames = []
    for t in range(count):
        background, box = scenes[1 if cut and t >= count // 2 else 0]
        frame = np.ascontiguousarray(background[:, step * t : step * t + width])
        x = (width // 2 - 4 * step * t) % (width - box.shape[1])
        y = height // 2
        frame[y : y + box.shape[0], x : x + box.shape[1]] = box
        frames.append(frame)
    return frames


# ------------------------------------------------------------------------------------------ (a)


def median_ms(fn: Callable[[], object], reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def propagation_costs(size: tuple[int, int], feature_channels: int, reps: int) -> dict[str, float]:
    """ms per call of each CPU step of one propagated frame (see the module docstring)."""
    width, height = size
    frames = make_frames(size, 2, cut=False)
    estimator = FlowEstimator("dis", 1.0)
    gray = [estimator.prepare(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)) for f in frames]
    flow = estimator.flow(*gray)
    prop = (-(-height // 4), -(-width // 4))
    feat = (-(-height // 16), -(-width // 16))
    rng = np.random.default_rng(0)
    probs = torch.from_numpy(rng.random((CLASSES, *prop), dtype=np.float32)).softmax(0)
    probs = probs.permute(1, 2, 0).contiguous().permute(2, 0, 1)  # channels-last, as the pipeline keeps P
    labels = probs.argmax(0).to(torch.uint8).numpy()
    features = to_blocks(torch.from_numpy(rng.random((feature_channels, *feat), dtype=np.float32)))
    iam = InconsistencyAttention()
    warper = Warper(flow)
    warper.offsets(prop), warper.offsets(prop, backward=True), warper.offsets(feat)
    l_f, l_bf = iam.check(labels, warper)
    p_warped = warper.tensor(probs)

    def resize_flows():
        fresh = Warper(flow)
        fresh.offsets(prop), fresh.offsets(prop, backward=True), fresh.offsets(feat)

    costs = {
        "gray": median_ms(lambda: cv2.cvtColor(frames[1], cv2.COLOR_RGB2GRAY), reps),
        "flow": median_ms(lambda: estimator.flow(*gray), reps),
        "flow resize": median_ms(resize_flows, reps),
        "warp P": median_ms(lambda: warper.tensor(probs), reps),
        "warp L": median_ms(lambda: warper.labels(labels, border="replicate"), reps),
        "warp F": median_ms(lambda: warper.blocks(features), reps),
        "IAM check": median_ms(lambda: inconsistency_map(*iam.check(labels, warper)).mean(), reps),
        "IAM blend": median_ms(lambda: iam(l_f, l_bf, probs, p_warped), reps),
        "upsample": median_ms(lambda: cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST), reps),
    }
    warp_only = ("gray", "flow", "flow resize", "warp P", "warp L", "upsample")
    costs["total W"] = sum(costs[k] for k in warp_only)
    costs["total W+R (no net)"] = (
        costs["total W"] - costs["warp L"] + costs["warp F"] + costs["IAM check"] + costs["IAM blend"]
    )
    return costs


# ------------------------------------------------------------------------------------------ (b)


def point_params(name: str, args: argparse.Namespace, **overrides):
    params = segmenter_parameters("evs", name)
    params.random_weights = True
    params.icnet_config = args.config
    params.use_gpu = args.device != "cpu"
    for key, value in [*getattr(args, "assignments", []), *overrides.items()]:
        if not hasattr(params, key):
            raise SystemExit(f"error: --set {key}: not a parameter of evs {name}")
        setattr(params, key, value)
    return params


def run_point(params, frames: list[np.ndarray], warmup: list[np.ndarray]) -> tuple[list[dict], object]:
    """Outputs' info and the run's stats of one pass over ``frames`` (after a warm-up clip)."""
    segmenter = build_segmenter("evs", params)
    try:
        segmenter.segment_clip(warmup)
        segmenter.reset()
        infos = [output.info for output in segmenter.segment_video(frames)]
        return infos, segmenter.stats
    finally:
        segmenter.close()


def serial_costs(infos: list[dict]) -> dict[str, tuple[int, float]]:
    """mode -> (frame count, median serial cost in seconds) from a serial run's per-frame latencies."""
    by_mode: dict[str, list[float]] = {}
    for info in infos:
        by_mode.setdefault(info["mode"], []).append(info["latency_s"])
    return {mode: (len(v), statistics.median(v)) for mode, v in by_mode.items()}


def cost_key(params, mode: str) -> tuple:
    """What a frame of this mode costs depends on: the network's D only for network frames."""
    network = mode in ("key", "refine")
    return (
        mode,
        params.downscale if network else None,
        params.warp,
        params.refine,
        params.keyframe_blend,
        params.adaptive_threshold is not None,
        params.precision if network else None,
    )


class PooledCosts:
    """Lowest median serial cost per :func:`cost_key` over every serial pass of the run: points with
    the same kind of frame share it, so one disturbed pass does not skew a bound."""

    def __init__(self) -> None:
        self.costs: dict[tuple, float] = {}

    def add(self, params, infos: list[dict]) -> dict[str, int]:
        counts = {}
        for mode, (count, cost) in serial_costs(infos).items():
            key = cost_key(params, mode)
            self.costs[key] = min(cost, self.costs.get(key, cost))
            counts[mode] = count
        return counts

    def get(self, params, mode: str) -> float:
        return self.costs[cost_key(params, mode)]


def measure(
    params_for: Callable[..., object],
    baseline_for: Callable[..., object],
    args: argparse.Namespace,
    frames: list[np.ndarray],
    warmup: list[np.ndarray],
    pooled: PooledCosts,
) -> tuple[object, dict[str, int], list[dict], object]:
    """Best of ``--repeats`` rounds, each a threaded pass of the baseline (ICNet on every frame),
    a threaded pass of the point and a serial pass of each: (stats of the point's fastest threaded
    pass, frames per mode, infos of that pass, stats of the baseline's fastest threaded pass);
    serial costs go to ``pooled``. The machine may be shared: the fastest pass is the least
    disturbed one, and the baseline interleaved with the point sees the same load."""
    best_stats, best_infos, best_base, counts = None, None, None, {}
    for _ in range(args.repeats):
        base_stats = run_point(baseline_for(), frames, warmup)[1]
        if best_base is None or base_stats.fps > best_base.fps:
            best_base = base_stats
        infos, stats = run_point(params_for(), frames, warmup)
        if best_stats is None or stats.fps > best_stats.fps:
            best_stats, best_infos = stats, infos
        serial_params = params_for(threaded=False)
        counts = pooled.add(serial_params, run_point(serial_params, frames, warmup)[0])
        serial_base = baseline_for(threaded=False)
        pooled.add(serial_base, run_point(serial_base, frames, warmup)[0])
    return best_stats, counts, best_infos, best_base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="2048x1024", help="frame size WxH for (b)")
    parser.add_argument("--frames", type=int, default=40, help="frames per operating point (a warm-up clip is extra)")
    parser.add_argument("--threads", type=int, default=1, help="cv2 and torch thread pools (each)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--config", choices=sorted(ICNET_CONFIGS.names()), default="standard")
    parser.add_argument("--points", default=",".join(DEFAULT_POINTS), help="comma-separated parameter sets")
    parser.add_argument("--reps", type=int, default=20, help="repetitions of each step in (a)")
    parser.add_argument("--repeats", type=int, default=2, help="passes per point in (b); the best one counts")
    parser.add_argument("--skip-propagation", action="store_true", help="leave out (a)")
    add_set_argument(parser, "override a parameter of every point, e.g. output_upsampling='nearest'")
    parser.add_argument(
        "--precision", default="fp32", help="comma list of fp32, bf16, auto for the networks: each measured, same run"
    )
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    cv2.setNumThreads(args.threads)
    torch.set_num_threads(args.threads)
    device = "cuda" if args.device != "cpu" and torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and device != "cuda":
        sys.exit("--device cuda: CUDA is not available")
    feature_channels = ICNET_CONFIGS.get(args.config).feature_channels
    print(
        f"EVS speed: ICNet '{args.config}' (random weights) on {device}"
        f"{' (' + torch.cuda.get_device_name() + ')' if device == 'cuda' else ''}, cv2/torch threads "
        f"{args.threads}/{args.threads}, opencv {cv2.__version__}, torch {torch.__version__}"
    )

    if not args.skip_propagation:
        print(
            f"\n(a) propagation cost per frame, ms (median of {args.reps}; F = {feature_channels} channels at 1/16, "
            f"P = {CLASSES} classes and L at 1/4, DIS on the full-resolution gray frame)"
        )
        rows = {
            f"{w}x{h}": propagation_costs((w, h), feature_channels, args.reps) for w, h in ((2048, 1024), (512, 256))
        }
        keys = list(next(iter(rows.values())))
        print(f"{'size':>10} " + " ".join(f"{k:>{max(7, len(k))}}" for k in keys))
        for size, costs in rows.items():
            print(f"{size:>10} " + " ".join(f"{costs[k]:>{max(7, len(k))}.2f}" for k in keys))

    frames = make_frames((width, height), args.frames)
    warmup = make_frames((width, height), 3, seed=10, cut=False)
    points = [p.strip() for p in args.points.split(",") if p.strip()]
    print(
        f"\n(b) operating points at {width}x{height}, {args.frames} frames each (scene cut at frame "
        f"{args.frames // 2}), threaded pipeline vs ICNet (D=1) on every frame; bound from serial costs"
    )
    # precision names, one per resolved dtype (fp32 first: the reference of "vs fp32")
    precisions: dict[str, torch.dtype] = {}
    for precision in ["fp32", *(p.strip() for p in args.precision.split(",") if p.strip())]:
        dtype = resolve_precision(precision, device)
        if dtype not in precisions.values():
            precisions[precision] = dtype
    pooled = PooledCosts()
    baseline = dict(keyframe_interval=1, warp=False, refine=False, keyframe_blend=False, downscale=1.0)
    results = []
    for name in points:
        for precision in precisions:  # a point at every precision, one after the other
            print(f"  measuring {name} ({precision}) ...", file=sys.stderr, flush=True)
            results.append(
                (
                    name,
                    precision,
                    point_params(name, args, precision=precision),
                    *measure(
                        lambda name=name, precision=precision, **o: point_params(name, args, precision=precision, **o),
                        lambda precision=precision, **o: point_params(
                            "evs01", args, **{**baseline, "precision": precision, **o}
                        ),
                        args,
                        frames,
                        warmup,
                        pooled,
                    ),
                )
            )
    print(
        f"{'point':>13} {'prec':>5} {'D':>4} {'S':>3} {'W':>2} {'R':>2} {'keys':>4} {'t_key ms':>9} "
        f"{'t_prop ms':>9} {'fps':>8} {'base fps':>8} {'speedup':>8} {'bound':>7} {'meas/bnd':>8} "
        f"{'within10%':>9} {'vs fp32':>7} {'lat p50 ms':>10} {'thesis x':>8}"
    )
    for precision in precisions:
        base_params = point_params("evs01", args, **baseline, precision=precision)
        t_base = pooled.get(base_params, "key")
        base_fps = [base.fps for _, p, _, _, _, _, base in results if p == precision]
        print(
            f"{'ICNet/frame':>13} {precision:>5} {1.0:>4} {1:>3} {'n':>2} {'n':>2} {args.frames:>4} "
            f"{1000 * t_base:>9.2f} {'-':>9} {max(base_fps):>8.2f} {'-':>8} {1.0:>8.2f} {1.0:>7.2f} {'-':>8} "
            f"{'-':>9} {'-':>7} {'-':>10} {1.0:>8.2f}"
        )
    fp32_fps = {name: stats.fps for name, p, _, stats, _, _, _ in results if p == "fp32"}
    for name, precision, params, stats, counts, infos, base_stats in results:
        t_base = pooled.get(point_params("evs01", args, **baseline, precision=precision), "key")
        n_key = counts.get("key", 0)
        t_key = pooled.get(params, "key") if n_key else 0.0
        n_prop = sum(count for mode, count in counts.items() if mode != "key")
        t_prop = sum(count * pooled.get(params, mode) for mode, count in counts.items() if mode != "key")
        t_prop = t_prop / n_prop if n_prop else 0.0
        speedup = stats.fps / base_stats.fps  # against the baseline measured interleaved with this point
        bound = (n_key + n_prop) * t_base / (n_key * t_key + n_prop * t_prop)
        ratio = speedup / bound
        verdict = "above" if ratio > 1.1 else "yes" if ratio >= 0.9 else "no"
        keys = sum(info["keyframe"] for info in infos)
        thesis = f"{params.thesis_fps / 38.6:.2f}" if getattr(params, "thesis_fps", None) else "-"
        print(
            f"{name:>13} {precision:>5} {params.downscale:>4} {params.keyframe_interval:>3} "
            f"{'y' if params.warp else 'n':>2} {'y' if params.refine else 'n':>2} {keys:>4} {1000 * t_key:>9.2f} "
            f"{1000 * t_prop:>9.2f} {stats.fps:>8.2f} {base_stats.fps:>8.2f} {speedup:>8.2f} {bound:>7.2f} "
            f"{ratio:>8.2f} {verdict:>9} {stats.fps / fp32_fps[name]:>6.2f}x "
            f"{1000 * stats.latency_median_s:>10.1f} {thesis:>8}"
        )


if __name__ == "__main__":
    main()
