"""LMANet streaming-step time and peak memory against ERFNet alone, measured in one run.

    python benchmarks/lmanet_speed.py [--size 1024x512] [--threads 2] [--repeats 5] [--windows 11 21 41] [--global]

Prints the median time of one streaming step (encode the new frame, read a memory of S = 3
cached frames, fuse, decode) for ERFNet alone and LMANet with each window side, the ratio to
ERFNet and the read alone. Memory: on CUDA the peak allocated memory; on the CPU only the
process's peak resident set over the whole run (per-variant peaks are not separated yet).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch

from segmentation_plugins.lmanet import build_lmanet


def timed(fn, repeats: int, device: torch.device) -> float:
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1024x512", help="W x H of the input frame")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--windows", type=int, nargs="+", default=[11, 21, 41])
    parser.add_argument("--global", dest="with_global", action="store_true", help="also the global variant")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    width, height = (int(v) for v in args.size.split("x"))
    frame = torch.rand(1, 3, height, width, device=device)
    model = build_lmanet().to(device).eval()
    with torch.inference_mode():
        feats = model.encode(frame)
        keys, values = zip(*(model.memorize(feats) for _ in range(3)))
        mk, mv = torch.stack(keys, 2), torch.stack(values, 2)
        qk, qv = model.query(feats)
        base = timed(lambda: model.decode(model.encode(frame)), args.repeats, device)
        print(f"{args.size} on {device} ({args.threads} threads), median of {args.repeats}")
        print(f"  ERFNet step                 {base * 1000:8.1f} ms   1.00x")
        variants = [("local", w) for w in args.windows] + ([("global", 0)] if args.with_global else [])
        for attention, window in variants:
            model.attention, model.window = attention, max(window, 1)
            step = timed(lambda: model.step(frame, mk, mv), args.repeats, device)
            read = timed(lambda: model.read(qk, mk, mv), args.repeats, device)
            label = f"LMANet {attention}" + (f" P={window}" if attention == "local" else "")
            print(f"  {label:27s} {step * 1000:8.1f} ms   {step / base:4.2f}x   read {read * 1000:7.1f} ms "
                  f"({read / base * 100:5.1f} % of the ERFNet step)")
    if device.type == "cuda":
        print(f"  peak CUDA memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    else:
        print(f"  peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
