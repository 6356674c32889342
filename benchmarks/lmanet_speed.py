"""LMANet streaming-step time and peak memory against ERFNet alone, measured in one run.

    python benchmarks/lmanet_speed.py [--size 1024x512] [--threads 2] [--rounds 5] [--windows 11 21 41]
                                      [--direct 21] [--global] [--no-memory] [--precision fp32,bf16]

Variants: ``erfnet`` (the single-frame network: encode + decode), ``local P=..`` (LMANet with
the tiled local read the model runs), ``direct P=..`` (the same step with the offset-by-offset
read of ``local_read(local_attention(...))``, the previous implementation, for comparison) and
``global``. One streaming step encodes the new frame, reads a memory of S = 3 cached frames,
fuses and decodes.

Precision (``--precision``, a comma list of fp32 / bf16 / auto, all measured in the same run): the
networks run in that dtype as the segmenter runs them (bf16: channels-last; the memory keys/values
and the read stay fp32, the logits come back as fp32; ``segmentation_plugins/lmanet/inference.py``).
Each row's ``x ERFNet`` is against ERFNet at the same precision, ``x fp32`` against the same
variant in fp32 (a row whose precision resolves to fp32, e.g. bf16 on a CPU without native bf16,
is not listed twice).

Time: the variants run round-robin (``--rounds`` rounds after a warm-up) so that load from other
processes hits all of them alike; the minimum over rounds is printed (the least disturbed run),
for the step and for the read alone (correlation + softmax + weighted sum), with their ratio to
the ERFNet step. On a machine busy with other processes, OpenMP threads spinning at barriers
while a sibling is descheduled can slow every variant several-fold and erratically;
``OMP_WAIT_POLICY=PASSIVE`` (or ``--threads 1``) keeps the ratios meaningful there.

Memory: every variant runs again in a fresh process (large blocks allocated with mmap so that
the resident set follows the live tensors) that builds its network and inputs and runs two
steps. Printed: the peak resident set during the second step (``VmHWM``, reset through
``/proc/self/clear_refs`` before it) and the model memory: weights + stored memory (S keys and
values) + the step's working memory (that peak minus the resident set before the step, so the
libraries, which alone take hundreds of MiB, are left out); the overhead in % compares model
memories with ERFNet's. On CUDA the same from the allocator's statistics.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from pytracking_ext.evaluation.precision import resolve_precision
from segmentation_plugins.lmanet import build_lmanet, build_single_frame
from segmentation_plugins.lmanet.inference import to_network
from segmentation_plugins.lmanet.models.attention import global_read, local_attention, local_memory_read, local_read

MEMORY_FRAMES = 3

# variant kind -> read(query key, memory keys, memory values, window)
READS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]] = {
    "local": local_memory_read,
    "direct": lambda qk, mk, mv, p: local_read(local_attention(qk, mk, p), mv, p),
    "global": lambda qk, mk, mv, p: global_read(qk, mk, mv),
}


def parse_variant(name: str) -> tuple[str, int]:
    kind, _, window = name.partition(" P=")
    return kind, int(window or 1)


class Setup:
    """Networks and inputs of one process: a frame, the memory of S frames and the query."""

    def __init__(
        self,
        size: str,
        device: torch.device,
        erfnet: bool = True,
        lmanet: bool = True,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        width, height = (int(v) for v in size.split("x"))
        torch.manual_seed(0)
        self.frame = to_network(torch.rand(1, 3, height, width, device=device), dtype)
        self.erfnet = _cast(build_single_frame("erfnet").to(device).eval(), dtype) if erfnet else None
        self.model = _cast(build_lmanet().to(device).eval(), dtype) if lmanet else None
        if lmanet:
            with torch.inference_mode():
                features = self.model.encode(self.frame)
                keys, values = zip(*(self.model.memorize(features) for _ in range(MEMORY_FRAMES)))
                self.memory = torch.stack(keys, 2).float(), torch.stack(values, 2).float()  # fp32 memory
                self.query = tuple(t.float() for t in self.model.query(features))

    def step(self, variant: str) -> Callable[[], torch.Tensor]:
        if variant == "erfnet":
            return lambda: self.erfnet(self.frame).float()
        kind, window = parse_variant(variant)
        read, model = READS[kind], self.model

        def run() -> torch.Tensor:  # as LMANetStreamer.step: the read in fp32, the rest in the network's dtype
            key, value = model.query(model.encode(self.frame))
            memory_read = read(key.float(), *self.memory, window)
            return model.decode(model.fuse(value, memory_read.to(value.dtype))).float()

        return run

    def read(self, variant: str) -> Callable[[], torch.Tensor] | None:
        if variant == "erfnet":
            return None
        kind, window = parse_variant(variant)
        return lambda: READS[kind](self.query[0], *self.memory, window)


def _cast(net: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """``net`` as the segmenter runs it in ``dtype`` (fp32: unchanged; else cast and channels-last)."""
    return net if dtype == torch.float32 else net.to(dtype=dtype, memory_format=torch.channels_last)


def timed(fn: Callable[[], torch.Tensor], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def resident_bytes() -> int:
    """Current resident set of this process (Linux), else its peak so far."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_resident() -> None:
    """Restart the peak resident set from the current one (Linux >= 4.0), so that the peak reached
    while importing torch does not hide the steps' peak; elsewhere the peak stays process-wide."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_resident_bytes() -> int:
    try:
        status = Path("/proc/self/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) * 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def probe(args: argparse.Namespace) -> None:
    """Child process: memory of one variant's streaming step (JSON on stdout).

    ``model``: weights + the stored memory (S keys/values) + the step's working memory, the
    latter being the peak during a step minus the resident set before it (libraries loaded and
    kernels generated by a first step). ``peak``: the resident set's peak during the step.
    """
    device = torch.device(args.device)
    # each process holds only the network it measures
    dtype = resolve_precision(args.precision, device)
    setup = Setup(args.size, device, erfnet=args.probe == "erfnet", lmanet=args.probe != "erfnet", dtype=dtype)
    net = setup.erfnet if args.probe == "erfnet" else setup.model
    persistent = tensor_bytes([*net.parameters(), *net.buffers()])
    if args.probe != "erfnet":
        persistent += tensor_bytes(setup.memory)
    step = setup.step(args.probe)
    with torch.inference_mode():
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
        else:
            before = resident_bytes()
            reset_peak_resident()
        step()
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else peak_resident_bytes()
    print(json.dumps({"peak": peak, "model": persistent + peak - before}))


def measure_memory(args: argparse.Namespace, variant: str, precision: str) -> dict[str, int]:
    command = [
        sys.executable,
        __file__,
        "--probe",
        variant,
        "--size",
        args.size,
        "--threads",
        str(args.threads),
        "--device",
        args.device,
        "--precision",
        precision,
    ]
    # large blocks straight from and back to the system: the resident set then follows the live
    # tensors instead of what glibc keeps cached from earlier steps
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 << 10)}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1024x512", help="W x H of the input frame")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds over all variants")
    parser.add_argument("--windows", type=int, nargs="+", default=[11, 21, 41])
    parser.add_argument("--direct", type=int, nargs="*", default=[21], help="windows to time with the offset loop")
    parser.add_argument("--global", dest="with_global", action="store_true", help="also the global variant")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the per-variant memory")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--precision", default="fp32", help="comma list of fp32, bf16, auto: each measured, in the same run"
    )
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.probe:
        probe(args)
        return
    device = torch.device(args.device)
    variants = (
        ["erfnet"]
        + [f"local P={w}" for w in args.windows]
        + [f"direct P={w}" for w in args.direct]
        + (["global"] if args.with_global else [])
    )
    # precision name -> dtype, a name whose dtype an earlier name already has is dropped (fp32 first)
    precisions: dict[str, torch.dtype] = {}
    for name in ["fp32", *(p.strip() for p in args.precision.split(",") if p.strip())]:
        dtype = resolve_precision(name, device)
        if dtype not in precisions.values():
            precisions[name] = dtype
    rows = [(p, v) for p in precisions for v in variants]
    setups = {p: Setup(args.size, device, dtype=dtype) for p, dtype in precisions.items()}
    steps = {(p, v): setups[p].step(v) for p, v in rows}
    reads = {(p, v): setups[p].read(v) for p, v in rows}
    best = {(row, part): float("inf") for row in rows for part in ("step", "read")}
    with torch.inference_mode():
        for fn in [*steps.values(), *filter(None, reads.values())]:
            fn()  # warm-up
        for _ in range(args.rounds):
            for row in rows:  # every variant at every precision in each round: same-run ratios
                best[row, "step"] = min(best[row, "step"], timed(steps[row], device))
                if reads[row] is not None:
                    best[row, "read"] = min(best[row, "read"], timed(reads[row], device))
    memory = {(p, v): measure_memory(args, v, p) for p, v in rows} if args.memory else {}

    print(
        f"{args.size} on {device}, {args.threads} threads, S = {MEMORY_FRAMES}, torch {torch.__version__}; "
        f"minimum of {args.rounds} interleaved rounds"
    )
    label = "CUDA peak" if device.type == "cuda" else "peak RSS"
    print(
        f"  {'variant':14s} {'precision':>9s} {'step':>9s} {'x ERFNet':>8s} {'x fp32':>7s} {'read':>9s} "
        f"{'read/ERFNet':>11s}" + (f" {label:>10s} {'model mem':>10s} {'vs ERFNet':>9s}" if memory else "")
    )
    for p, v in rows:
        step, read = best[(p, v), "step"], best[(p, v), "read"]
        base = best[(p, "erfnet"), "step"]
        line = f"  {v:14s} {p:>9s} {step * 1e3:6.1f} ms {step / base:7.2f}x "
        line += f"{best[('fp32', v), 'step'] / step:6.2f}x "
        line += f"{read * 1e3:6.1f} ms {read / base * 100:9.1f} %" if reads[p, v] else f"{'-':>9s} {'-':>11s}"
        if memory:
            own, ref = memory[p, v]["model"], memory[p, "erfnet"]["model"]
            peak = memory[p, v]["peak"]
            line += f" {peak / 2**20:6.0f} MiB {own / 2**20:6.0f} MiB {(own - ref) / ref * 100:+8.1f} %"
        print(line)


if __name__ == "__main__":
    main()
