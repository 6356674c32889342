"""Is data loading the bottleneck? Loader throughput vs the training step rate, in one run.

    python benchmarks/data_throughput.py --module examples --settings tiny --workers 0 2 [--batches 20]

Uses the settings module's ``build(settings)`` to get the actor, loaders and optimiser, then
measures (1) samples/s of the first loader with each worker count (data only) and (2) samples/s
of forward + backward + optimiser steps on batches already in memory. A ratio below 1 means the
GPU/CPU would wait for data.
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch

from ltr_ext.data.loader import LTRLoader
from ltr_ext.run_training import build_settings
from ltr_ext.train_settings import get_settings_module
from ltr_ext.trainers import seed_everything
from pytracking_ext.cli import add_set_argument


def loader_rate(loader: LTRLoader, batches: int) -> float:
    """Samples per second for ``batches`` batches (after one warm-up batch, workers started)."""
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    samples = 0
    for _ in itertools.islice(iterator, batches):
        samples += loader.batch_size
    return samples / (time.perf_counter() - start)


def step_rate(actor, optimizer, batches: list, device: torch.device, stack_dim: int) -> float:
    """Samples per second of training steps on ``batches`` already in memory."""
    actor.train(True)
    actor.to(device)
    start = time.perf_counter()
    samples = 0
    for data in batches:
        data = data.to(device)
        loss, _ = actor(data)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        samples += next(v for v in data.values() if torch.is_tensor(v)).shape[stack_dim]
    return samples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--module", default="examples")
    parser.add_argument("--settings", default="tiny")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--batches", type=int, default=20)
    add_set_argument(parser, "override a setting (repeatable)")
    args = parser.parse_args()
    module = get_settings_module(args.module, args.settings)
    if not hasattr(module, "build"):
        raise SystemExit(f"{args.module}/{args.settings} has no build(settings) function to benchmark")
    print(f"{args.module}/{args.settings}: {args.batches} batches per measurement")
    rates = {}
    for workers in args.workers:
        settings = build_settings(args.module, args.settings, args.assignments + [("num_workers", workers)])
        seed_everything(settings.seed)
        actor, loaders, optimizer, _ = module.build(settings)
        rates[workers] = loader_rate(loaders[0], args.batches)
        print(f"data loading, {workers} workers: {rates[workers]:9.1f} samples/s")
    batches = list(itertools.islice(iter(loaders[0]), args.batches))
    steps = step_rate(actor, optimizer, batches, settings.device, loaders[0].stack_dim)
    print(f"training steps ({settings.device}):  {steps:9.1f} samples/s")
    for workers, rate in rates.items():
        verdict = "loading keeps up" if rate >= steps else "loading is the bottleneck"
        print(f"ratio loading/steps with {workers} workers: {rate / steps:.2f} ({verdict})")


if __name__ == "__main__":
    main()
