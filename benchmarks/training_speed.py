"""Training steps in fp32 and in bf16 autocast (``--set amp=bf16``), interleaved in one process.

    LTR_CAMVID_DIR=../shared/data/camvid OMP_NUM_THREADS=2 python benchmarks/training_speed.py \\
        [--target "rts rts_small" --target "lmanet lite0_camvid"] [--batches 4] [--epochs 2] [--set key=value]

For each train-settings module, its ``run(settings)`` builds actor, loaders and optimiser as
``run_training`` would (stopped where the epoch loop would start), ``--batches`` training batches
are drawn once and kept in memory, and two copies of actor and optimiser, with the same weights,
take one training step each on the same batch in turn (fp32 first on even steps, bf16 first on
odd ones), through :class:`~ltr_ext.trainers.LTRTrainer`'s autocast. An epoch is one pass over the
kept batches; every step after ``--warmup`` steps per precision (not timed, on copies that are
then discarded) is timed.
Printed: every step's loss in both precisions (the two curves), iterations per second of each
(from the median step time, robust to a busy machine, and from the total time) and their ratio.
Data loading is not in the timing (``data_throughput.py`` measures it).

The default targets are small versions of ``rts rts_small`` (a few generated videos, batch 2)
and ``lmanet lite0_camvid`` (single-frame stage, CamVid without generated videos, batch 2);
``--set`` values apply to every target after these.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn

from ltr_ext.run_training import build_settings
from ltr_ext.train_settings import get_settings_module
from ltr_ext.trainers import LTRTrainer, seed_everything
from pytracking_ext.cli import add_set_argument
from pytracking_ext.evaluation.precision import native_bf16

#: the small settings each default target runs with (``--set`` adds to them)
SMALL: dict[str, list[tuple[str, object]]] = {
    "rts rts_small": [
        ("batch_size", 2),
        ("num_workers", 0),
        ("generated_sequences", 4),
        ("generated_frames", 12),
    ],
    "lmanet lite0_camvid": [("batch_size", 2), ("num_workers", 0), ("generated_videos", 0)],
    "examples tiny": [("batch_size", 8), ("samples_per_epoch", 64)],
}


class _Built(Exception):
    """Raised instead of training: carries the trainer the settings module built."""

    def __init__(self, trainer: LTRTrainer) -> None:
        super().__init__("built")
        self.trainer = trainer


def build_trainer(target: str, assignments: list[tuple[str, object]], workspace: Path) -> LTRTrainer:
    """The trainer ``run_training TARGET`` would build, its epoch loop not started."""
    module_name, settings_name = target.split()
    module = get_settings_module(module_name, settings_name)
    settings = build_settings(module_name, settings_name, assignments, str(workspace))
    seed_everything(int(settings.seed))
    original = LTRTrainer.train

    def stop(self, *args, **kwargs):
        raise _Built(self)

    LTRTrainer.train = stop
    try:
        with settings.declaring():
            module.run(settings)
    except _Built as built:
        return built.trainer
    finally:
        LTRTrainer.train = original
    raise RuntimeError(f"{target}: run(settings) returned without starting an LTRTrainer")


def copy_for(trainer: LTRTrainer, amp: str) -> LTRTrainer:
    """A trainer over deep copies of actor and optimiser (same weights), autocasting as ``amp`` says."""
    actor, optimizer = copy.deepcopy((trainer.actor, trainer.optimizer))
    settings = trainer.settings
    settings.amp = amp
    try:
        twin = LTRTrainer(actor, trainer.loaders, optimizer, settings)
    finally:
        settings.amp = "fp32"
    twin.actor.train(True)
    return twin


def step(trainer: LTRTrainer, batch, seed: int) -> tuple[float, float]:
    """One training step as the epoch loop takes it; ``(seconds, loss)``."""
    torch.manual_seed(seed)
    data = trainer._to_device(copy.copy(batch))
    data["epoch"] = 1
    data["settings"] = trainer.settings
    start = time.perf_counter()
    with trainer.autocast():
        loss, _ = trainer.actor(data)
    trainer.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if trainer.settings.grad_clip_max_norm:
        nn.utils.clip_grad_norm_(trainer.actor.net.parameters(), trainer.settings.grad_clip_max_norm)
    trainer.optimizer.step()
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, float(loss.detach().float())


def measure(target: str, assignments, batches: int, epochs: int, warmup: int, workspace: Path) -> dict[str, float]:
    base = build_trainer(target, assignments, workspace)
    loader = base.loaders[0]
    kept = list(itertools.islice(iter(loader), batches))
    print(
        f"\n== {target} ({base.net_type}, {base.device}, {len(kept)} batches of {loader.batch_size}, {epochs} epochs)"
    )
    for amp in ("fp32", "bf16"):  # warm-up (oneDNN primitives, allocator) on throwaway copies
        spare = copy_for(base, amp)
        for _ in range(warmup):
            step(spare, kept[0], seed=0)
    trainers = {amp: copy_for(base, amp) for amp in ("fp32", "bf16")}
    if trainers["bf16"].amp_dtype != torch.bfloat16:
        print("   note: no native bf16 on this device, 'bf16' runs in fp32")
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    print(
        f"   {'epoch':>5} {'step':>4} {'loss fp32':>10} {'loss bf16':>10} {'rel diff':>9} {'s fp32':>7} {'s bf16':>7}"
    )
    for epoch, (index, batch) in itertools.product(range(1, epochs + 1), enumerate(kept)):
        number = (epoch - 1) * len(kept) + index
        order = ("fp32", "bf16") if number % 2 == 0 else ("bf16", "fp32")
        result = {amp: step(trainers[amp], batch, seed=number) for amp in order}
        for amp, (seconds, _) in result.items():
            times[amp].append(seconds)
        a, b = result["fp32"][1], result["bf16"][1]
        print(
            f"   {epoch:>5} {index + 1:>4} {a:>10.5f} {b:>10.5f} {abs(a - b) / max(abs(a), 1e-12):>9.2e}"
            f" {result['fp32'][0]:>7.3f} {result['bf16'][0]:>7.3f}"
        )
    # iterations per second from the median step (robust to a busy machine) and from the total time
    rates = {amp: 1 / statistics.median(t) for amp, t in times.items()}
    overall = {amp: len(t) / sum(t) for amp, t in times.items()}
    print(
        f"   it/s (median step) fp32 {rates['fp32']:.3f}, bf16 {rates['bf16']:.3f}: "
        f"bf16/fp32 {rates['bf16'] / rates['fp32']:.2f}x; "
        f"from the total time {overall['fp32']:.3f} / {overall['bf16']:.3f}: {overall['bf16'] / overall['fp32']:.2f}x"
    )
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", action="append", default=None, help="'MODULE SETTINGS' (repeatable)")
    parser.add_argument("--batches", type=int, default=4, help="training batches kept in memory (one epoch)")
    parser.add_argument("--epochs", type=int, default=2, help="passes over the kept batches")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per precision before measuring")
    parser.add_argument("--workspace", default=None, help="workspace (generated data, caches); default: a temp dir")
    add_set_argument(parser, "override a setting (repeatable)")
    args = parser.parse_args()
    targets = args.target or ["rts rts_small", "lmanet lite0_camvid"]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, native bf16: cpu {native_bf16('cpu')}"
        + (f", cuda {native_bf16('cuda')}" if torch.cuda.is_available() else "")
    )
    with tempfile.TemporaryDirectory() as temp:
        workspace = Path(args.workspace or temp)
        summary = {
            target: measure(
                target, SMALL.get(target, []) + args.assignments, args.batches, args.epochs, args.warmup, workspace
            )
            for target in targets
        }
    print("\ntarget                 it/s fp32  it/s bf16  bf16/fp32   (median steps)")
    for target, rates in summary.items():
        print(f"{target:<22} {rates['fp32']:>9.3f}  {rates['bf16']:>9.3f}  {rates['bf16'] / rates['fp32']:>8.2f}x")


if __name__ == "__main__":
    main()
