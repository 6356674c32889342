"""Train a network: ``python -m ltr_ext.run_training MODULE SETTINGS [--set key=value ...]``.

``MODULE`` names a package of train-settings modules (``examples``; ``rts``, ``lmanet``, ``evs``
and plugins as they are registered), ``SETTINGS`` a module in it with ``run(settings)``. The same
command under ``torchrun --nproc_per_node N`` trains with DistributedDataParallel (gloo on CPU,
NCCL on GPU). Re-running it resumes from the latest checkpoint.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

from pytracking_ext.cli import OneLineParser, add_set_argument
from pytracking_ext.errors import PytrackingError

from .admin.checkpoint import CheckpointError
from .admin.settings import Settings
from .train_settings import TRAIN_SETTINGS, get_settings_module
from .trainers import TrainingDiverged, seed_everything


def init_distributed() -> tuple[int, int]:
    """Join the process group torchrun describes; returns ``(rank, world_size)``."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return 0, 1
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    return dist.get_rank(), world_size


def build_settings(
    module_name: str, settings_name: str, assignments: list[tuple[str, object]], workspace: str | None = None
) -> Settings:
    """Settings with the workspace and the overrides (a framework field of the wrong type raises here)."""
    settings = Settings()
    if workspace:
        settings.env.workspace_dir = workspace
        settings.env.tensorboard_dir = os.path.join(workspace, "tensorboard")
        settings.env.pretrained_networks = os.path.join(workspace, "pretrained_networks")
    settings.module_name = module_name
    settings.script_name = settings_name
    settings.project_path = f"ltr/{module_name}/{settings_name}"
    for key, value in assignments:
        settings.override(key, value)
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m ltr_ext.run_training", description=__doc__.split("\n")[0])
    parser.add_argument("train_module", help=f"train module ({', '.join(TRAIN_SETTINGS.names())}, ...)")
    parser.add_argument("train_name", help="settings module inside it")
    parser.add_argument(
        "--cudnn_benchmark",
        type=lambda v: v.lower() in ("1", "true", "yes"),
        default=True,
        help="torch.backends.cudnn.benchmark (true/false)",
    )
    parser.add_argument("--workspace", default=None, help="workspace folder (overrides LTR_WORKSPACE_DIR)")
    add_set_argument(parser, "override a setting (repeatable; checked against the declared ones)")
    args = parser.parse_args(argv)
    try:
        module = get_settings_module(args.train_module, args.train_name)
        settings = build_settings(args.train_module, args.train_name, args.assignments, args.workspace)
    except PytrackingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    rank, world_size = init_distributed()
    settings.rank, settings.world_size = rank, world_size
    if world_size > 1 and torch.cuda.is_available():
        settings.device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    seed_everything(int(settings.seed))
    try:
        # the module's first use of settings.env / settings.device checks every --set name
        with settings.declaring():
            module.run(settings)
        if dist.is_available() and dist.is_initialized():
            # Rank 0 writes the last checkpoint and logs after the others finished their last step, and it
            # hosts the process group's store: every rank waits here, so none tears the group down while
            # another still uses it (an early teardown aborted a rank now and then).
            dist.barrier()
    except (TrainingDiverged, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except (FileNotFoundError, PytrackingError) as err:  # missing data folders, bad split lists, bad --set ...
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the last finished epoch's checkpoint is kept", file=sys.stderr)
        return 130
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
