"""EVS time shares (thesis Fig. 3.5): ICNet's parts, and the Refiner with the IAM against ICNet.

The thesis times ICNet's branches (Branch1 at full resolution, Branch2 from half resolution,
Branch4 deep at low resolution; §3.4.2) and finds "almost half of that time is spent only on
building low level features" (§3.3.5), which the Refiner does not recompute: Refiner + IAM about
13 ms against ICNet's ~25 ms on a Titan Xp (docs/evs.md §5.1). Here, on the same input:

- ICNet's parts, timed with forward hooks on its own sub-modules (no copy of the network code):
  ``trunk`` (the half-resolution trunk, conv1..conv3_1: the low-level features EVS warps; the
  thesis' Branch2 up to its features), ``low_branch`` (Branch4), ``full_branch`` (Branch1),
  ``cff_low`` + ``cff_mid`` (the cascade feature fusion), ``classifier``, and ``other`` (the rest of
  the forward: the x0.5 / x2 resizes between the parts) = the whole forward minus the parts, per run;
- ICNet, the Refiner (on ICNet's features standing in for the warped ones, same shapes) and the
  IAM (eq. 3.3 mask dilated and smoothed, eq. 3.4 blend, argmax; at 1/4 of the input, 512x256 for
  2048x1024) each as a whole, without hooks.

Times are medians of ``--runs`` runs after ``--warmup`` runs, the four measurements taking turns in
every run (CUDA: synchronised around every timed span). A part's share is its median over the sum
of the parts' medians, so the shares add up to 100 % (medians are not additive: that sum can differ
slightly from the median of ICNet alone; the hooks' own cost lands in the parts).
Random weights: only the time counts.

    python benchmarks/evs_time_shares.py [--config small|standard] [--size WxH] [--device cpu|cuda]
                                         [--runs 20] [--warmup 3] [--threads 1] [--out shares.png]

``--config small``: the CamVid network (11 classes) at 512x256 by default; ``standard``: the
Cityscapes network (19 classes) at 1024x512 by default (``--size 2048x1024`` for the thesis' size).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pytracking_ext.utils.io import atomic_write_bytes
from segmentation_plugins.evs.iam import InconsistencyAttention
from segmentation_plugins.evs.models import build_icnet, build_refiner
from segmentation_plugins.evs.models.blocks import resize

# ICNet's top-level sub-modules, in the order they run (models/icnet.py); the thesis' names in brackets
PARTS = ("trunk", "low_branch", "cff_low", "full_branch", "cff_mid", "classifier")
PART_LABELS = {
    "trunk": "trunk: low-level features (Branch2)",
    "low_branch": "low-res branch (Branch4)",
    "full_branch": "full-res branch (Branch1)",
    "cff_low": "CFF 1/32+1/16",
    "cff_mid": "CFF 1/16+1/8",
    "classifier": "classifier",
    "other": "other (resizes)",
}
# --config: (ICNet configuration, classes, default input size W x H)
CONFIGS = {"small": ("small", 11, (512, 256)), "standard": ("standard", 19, (1024, 512))}


@dataclass
class Shares:
    """Medians in ms: ``parts`` of ICNet (with ``other``), and the whole networks and the IAM."""

    parts: dict[str, float]
    icnet_ms: float
    refiner_ms: float
    iam_ms: float
    size: tuple[int, int]
    runs: int
    device: str
    shares: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        total = sum(self.parts.values())
        self.shares = {name: 100.0 * ms / total for name, ms in self.parts.items()}


class _PartTimer:
    """Forward hooks on ICNet's sub-modules: the span of each call, and of the whole forward."""

    def __init__(self, icnet: torch.nn.Module, sync: Callable[[], None]) -> None:
        self.sync, self.spans, self._starts = sync, {}, {}
        self.enabled = True
        self.handles = []
        for name in (*PARTS, ""):
            module = icnet.get_submodule(name) if name else icnet
            self.handles.append(module.register_forward_pre_hook(self._pre(name or "total")))
            self.handles.append(module.register_forward_hook(self._post(name or "total")))

    def _pre(self, name: str) -> Callable:
        def hook(module, args):
            if not self.enabled:
                return
            self.sync()
            self._starts[name] = time.perf_counter()

        return hook

    def _post(self, name: str) -> Callable:
        def hook(module, args, output):
            if not self.enabled:
                return
            self.sync()
            self.spans[name] = self.spans.get(name, 0.0) + time.perf_counter() - self._starts.pop(name)

        return hook

    def take(self) -> dict[str, float]:
        """The spans of the last forward (ms), ``other`` = the whole forward minus the parts."""
        spans = {name: 1000.0 * self.spans.get(name, 0.0) for name in (*PARTS, "total")}
        self.spans = {}
        spans["other"] = max(0.0, spans["total"] - sum(spans[name] for name in PARTS))
        return spans

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _timed_ms(call: Callable[[], object], sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    call()
    sync()
    return 1000.0 * (time.perf_counter() - start)


def measure(
    config: str = "small", size: tuple[int, int] | None = None, device: str = "cpu", runs: int = 20, warmup: int = 3
) -> Shares:
    """Time ICNet's parts, ICNet, the Refiner and the IAM on one random ``size`` (W, H) input.

    The four measurements take turns within every run, so a load that comes and goes (other
    processes on a shared CPU) hits them alike.
    """
    if config not in CONFIGS:
        raise ValueError(f"unknown --config '{config}'; known: {', '.join(CONFIGS)}")
    if runs < 1 or warmup < 0:
        raise ValueError(f"--runs must be >= 1 and --warmup >= 0, got {runs} and {warmup}")
    name, classes, default_size = CONFIGS[config]
    width, height = size or default_size
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    icnet = build_icnet(name, num_classes=classes).to(dev).eval()
    refiner = build_refiner(name, num_classes=classes).to(dev).eval()
    image = torch.randn(1, 3, height, width, device=dev) * 50
    grid = (max(1, -(-height // 4)), max(1, -(-width // 4)))  # the propagation resolution (docs/evs.md §2.3)
    rng = np.random.default_rng(0)
    l_f = rng.integers(0, classes, grid, dtype=np.uint8)
    l_bf = np.where(rng.random(grid) < 0.02, (l_f + 1) % classes, l_f).astype(np.uint8)  # ~2 % inconsistent
    p_warped = torch.softmax(torch.randn(classes, *grid, device=dev), 0)
    iam = InconsistencyAttention()
    timer = _PartTimer(icnet, sync)
    samples: dict[str, list[float]] = {"icnet": [], "refiner": [], "iam": [], "parts": []}
    try:
        with torch.no_grad():
            features = icnet.low_level(image)  # stands in for the warped features: same shape
            p_refiner = resize(refiner(image, features, with_aux=False).logits, grid).softmax(1)[0]
            for run in range(warmup + runs):
                timer.enabled = False
                icnet_ms = _timed_ms(lambda: icnet(image, with_aux=False), sync)
                refiner_ms = _timed_ms(lambda: refiner(image, features, with_aux=False), sync)
                iam_ms = _timed_ms(lambda: iam(l_f, l_bf, p_refiner, p_warped), sync)
                timer.enabled = True
                icnet(image, with_aux=False)
                parts = timer.take()
                if run >= warmup:
                    for key, value in (("icnet", icnet_ms), ("refiner", refiner_ms), ("iam", iam_ms)):
                        samples[key].append(value)
                    samples["parts"].append(parts)
    finally:
        timer.remove()
    parts = {part: statistics.median(s[part] for s in samples["parts"]) for part in (*PARTS, "other")}
    return Shares(
        parts,
        statistics.median(samples["icnet"]),
        statistics.median(samples["refiner"]),
        statistics.median(samples["iam"]),
        (width, height),
        runs,
        str(dev),
    )


def report(result: Shares) -> str:
    """The printed table: ms and share of each part, and Refiner (+ IAM) against ICNet."""
    w, h = result.size
    lines = [
        f"EVS time shares at {w}x{h} on {result.device}, medians of {result.runs} runs (ms)",
        f"{'ICNet part':<40}{'ms':>9}{'share':>9}",
    ]
    for name, ms in result.parts.items():
        lines.append(f"{PART_LABELS[name]:<40}{ms:>9.2f}{result.shares[name]:>8.1f}%")
    lines.append(f"{'sum of the parts':<40}{sum(result.parts.values()):>9.2f}{sum(result.shares.values()):>8.1f}%")
    refined = result.refiner_ms + result.iam_ms
    lines += [
        "",
        f"{'ICNet (whole forward)':<40}{result.icnet_ms:>9.2f}",
        f"{'Refiner':<40}{result.refiner_ms:>9.2f}{100 * result.refiner_ms / result.icnet_ms:>8.1f}% of ICNet",
        f"{'IAM (mask + eq. 3.4 blend)':<40}{result.iam_ms:>9.2f}",
        f"{'Refiner + IAM':<40}{refined:>9.2f}{100 * refined / result.icnet_ms:>8.1f}% of ICNet",
        f"low-level features (trunk) share of ICNet: {result.shares['trunk']:.1f}% "
        f"(thesis: 'almost half'); ICNet / (Refiner + IAM) = {result.icnet_ms / refined:.2f}x (thesis: almost 2x)",
    ]
    return "\n".join(lines)


def plot(result: Shares, path: Path) -> None:
    """Two stacked bars, ICNet by parts and Refiner + IAM (Fig. 3.5's comparison), as a PNG (atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    scale = result.icnet_ms / sum(result.parts.values())  # the parts drawn to ICNet's unhooked time
    left = 0.0
    for name, ms in result.parts.items():
        ax.barh("ICNet", ms * scale, left=left, label=f"{PART_LABELS[name]} ({result.shares[name]:.0f} %)")
        left += ms * scale
    ax.barh("Refiner + IAM", result.refiner_ms, label="Refiner", color="0.45")
    ax.barh("Refiner + IAM", result.iam_ms, left=result.refiner_ms, label="IAM", color="0.75")
    w, h = result.size
    ax.set(xlabel="ms (median)", title=f"EVS runtime at {w}x{h}, {result.device} (thesis Fig. 3.5)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size takes WxH such as 1024x512, got '{text}'") from None
    if width < 32 or height < 32:
        raise argparse.ArgumentTypeError(f"--size must be at least 32x32 (ICNet works at 1/32), got '{text}'")
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="small")
    parser.add_argument("--size", type=_size, default=None, help="input WxH (default: 512x256 small, 1024x512)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=None, help="bar chart PNG")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda: no CUDA device is available", file=sys.stderr)
        return 2
    if args.runs < 1 or args.warmup < 0 or args.threads < 1:
        print("error: --runs and --threads must be >= 1 and --warmup >= 0", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    result = measure(args.config, args.size, args.device, args.runs, args.warmup)
    print(report(result))
    if args.out is not None:
        try:
            plot(result, args.out)
        except OSError as error:
            print(f"error: --out {args.out}: {error}", file=sys.stderr)
            return 1
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
