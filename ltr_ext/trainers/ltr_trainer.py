"""The epoch loop: loaders, optimiser, scheduler, statistics, TensorBoard, checkpoints, resume.

Reproducibility: every epoch starts by seeding torch, numpy and random from ``(settings.seed,
epoch)`` (and DistributedSampler/loader generators from the same), so a run resumed from the
checkpoint of epoch k continues exactly as an uninterrupted run would. A non-finite loss stops
the run naming the epoch and iteration; the checkpoint of the last finished epoch stays.
Resume skips an unreadable newest checkpoint (a one-line warning names it and the one used);
when none of the checkpoints reads, it stops with a one-line error rather than retrain over them.
With ``settings.amp`` 'bf16' (or 'auto' on a device with native bf16 arithmetic, see
:func:`pytracking_ext.evaluation.precision.resolve_precision`) the actor's forward and loss run
under ``torch.autocast(device_type, torch.bfloat16)``; backward and the optimiser step run as
usual (bf16 keeps fp32's exponent range: no loss scaling) and the weights, optimiser state and
checkpoints stay fp32. Under ``torch.distributed`` the network is wrapped in DistributedDataParallel and only rank 0
writes checkpoints, logs and TensorBoard events.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from tqdm import tqdm

from pytracking_ext.evaluation.precision import resolve_precision

from ..admin.checkpoint import CheckpointError, checkpoint_path, list_checkpoints, read_checkpoint, save_checkpoint
from ..admin.loading import StateDictMismatch, load_state_dict_strict
from ..admin.stats import AverageMeter
from ..data.loader import LTRLoader
from ..data.tensordict import TensorDict


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


#: fields a checkpoint needs to resume training from it
_RESUME_FIELDS = {"epoch": int, "net": dict, "optimizer": dict}
#: unreadable checkpoints named one by one in the error; the rest are counted
_LISTED = 5


def _reason(err: BaseException, path: Path) -> str:
    """Why ``path`` did not load: the loader's one-line message without the file name it starts with."""
    text = str(err).strip()
    return text[len(f"{path}: ") :] if text.startswith(f"{path}: ") else text or type(err).__name__


def _read_resumable(path: Path) -> dict[str, Any]:
    """The data of checkpoint ``path`` if training can resume from it, else a one-line :class:`CheckpointError`."""
    try:
        data = read_checkpoint(path, legacy=False)
    except CheckpointError as err:
        raise CheckpointError(f"{path}: {_reason(err, path)}") from None
    wrong = [f"{key} ({kind.__name__})" for key, kind in _RESUME_FIELDS.items() if not isinstance(data.get(key), kind)]
    if wrong:
        raise CheckpointError(f"{path}: not a training checkpoint (needs {', '.join(wrong)})")
    return data


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and random."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def worker_init_fn(worker_id: int) -> None:
    """Give numpy and random in each loader worker the seed torch chose for that worker."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def unwrap(net: nn.Module) -> nn.Module:
    return net.module if isinstance(net, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else net


class LTRTrainer:
    """Trains ``actor.net`` over ``loaders`` for a number of epochs."""

    def __init__(
        self, actor, loaders: Sequence[LTRLoader], optimizer: torch.optim.Optimizer, settings, lr_scheduler: Any = None
    ) -> None:
        self.actor = actor
        self.loaders = list(loaders)
        self.optimizer = optimizer
        self.settings = settings
        self.lr_scheduler = lr_scheduler
        self.epoch = 0
        self.stats: dict[str, dict[str, AverageMeter]] = defaultdict(OrderedDict)
        self.skipped_images: dict[str, int] = {}
        self.device = settings.device
        self.actor.to(self.device)
        if is_distributed():
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.actor.net = nn.parallel.DistributedDataParallel(self.actor.net, device_ids=device_ids)
        workspace = Path(settings.env.workspace_dir)
        self.checkpoint_dir = workspace / "checkpoints" / settings.project_path
        self.tensorboard_dir = Path(settings.env.tensorboard_dir) / settings.project_path
        self.log_file = workspace / "logs" / f"{settings.project_path}.log"
        self._writers: dict[str, Any] = {}
        self.logger = self._make_logger()
        self.amp_dtype = self._resolve_amp()

    # ----- bookkeeping -------------------------------------------------------------------------
    def _make_logger(self) -> logging.Logger:
        logger = logging.getLogger(f"ltr_ext.train.{self.settings.project_path}.{id(self)}")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        if rank() == 0:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(self.log_file)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            logger.addHandler(handler)
        return logger

    def _resolve_amp(self) -> torch.dtype:
        """The autocast dtype of ``settings.amp`` on this device (fp32: no autocast); logged once."""
        amp = getattr(self.settings, "amp", "fp32")
        dtype = resolve_precision(amp, self.device)
        if amp != "fp32" and rank() == 0:
            chosen = "bf16 autocast (forward and loss)" if dtype == torch.bfloat16 else "fp32 (no native bf16)"
            message = f"amp {amp} on {self.device.type}: {chosen}"
            tqdm.write(message)
            self.logger.info(message)
        return dtype

    def autocast(self):
        """The context the actor's forward and loss run in: bf16 autocast, or nothing for fp32."""
        if self.amp_dtype == torch.float32:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    @property
    def net_type(self) -> str:
        return type(unwrap(self.actor.net)).__name__

    def _writer(self, name: str):
        if name not in self._writers:
            from torch.utils.tensorboard import SummaryWriter

            self._writers[name] = SummaryWriter(str(self.tensorboard_dir / name))
        return self._writers[name]

    # ----- checkpoints -------------------------------------------------------------------------
    def checkpoint_state(self) -> dict[str, Any]:
        net = unwrap(self.actor.net)
        constructor = getattr(net, "constructor", None)
        return {
            "epoch": self.epoch,
            "actor_type": type(self.actor).__name__,
            "net_type": type(net).__name__,
            "net": net.state_dict(),
            "net_info": getattr(net, "info", None),
            "constructor": constructor.to_dict() if constructor is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "lr_scheduler": self.lr_scheduler.state_dict() if self.lr_scheduler is not None else None,
            "stats": {
                loader: {name: meter.state() for name, meter in meters.items()} for loader, meters in self.stats.items()
            },
            "settings": self.settings.to_plain_dict(),
        }

    def save_checkpoint(self) -> Path | None:
        if rank() != 0:
            return None
        path = checkpoint_path(self.checkpoint_dir, self.net_type, self.epoch)
        save_checkpoint(path, self.checkpoint_state())
        return path

    def load_checkpoint(self, path: str | Path | None = None) -> bool:
        """Restore from ``path`` or the newest readable checkpoint of this project; False when there is none.

        Without ``path``, an unreadable newer checkpoint (truncated by a full disk, damaged in a copy)
        is skipped with a one-line warning naming it; when checkpoints exist and none is readable, a
        :class:`CheckpointError` lists them, so a run never silently retrains over them.
        """
        if path is not None:
            path = Path(path)
            data = _read_resumable(path)
        else:
            found = self._newest_readable_checkpoint()
            if found is None:
                return False
            path, data = found
        self._restore(path, data)
        self.logger.info("resumed from %s (epoch %d)", path, self.epoch)
        return True

    def _newest_readable_checkpoint(self) -> tuple[Path, dict[str, Any]] | None:
        """``(path, data)`` of the newest checkpoint that reads; warns about newer unreadable ones."""
        candidates = list_checkpoints(self.checkpoint_dir, self.net_type)
        broken: list[tuple[Path, str]] = []
        for path in candidates:
            try:
                data = _read_resumable(path)
            except CheckpointError as err:
                broken.append((path, _reason(err, path)))
                continue
            if broken:
                skipped = ", ".join(f"{p} ({why})" for p, why in broken)
                self._warn(
                    f"unreadable checkpoint{'s' if len(broken) > 1 else ''} {skipped}; "
                    f"resuming from {path.name} instead"
                )
            return path, data
        if not broken:
            return None
        listed = ", ".join(f"{p.name} ({why})" for p, why in broken[:_LISTED])
        more = f" and {len(broken) - _LISTED} more" if len(broken) > _LISTED else ""
        raise CheckpointError(
            f"{self.checkpoint_dir}: no readable checkpoint to resume from: {listed}{more}; "
            "move or delete them to train from scratch"
        )

    def _warn(self, message: str) -> None:
        """One line on stderr and in the training log (rank 0 only)."""
        if rank() == 0:
            tqdm.write(f"warning: {message}", file=sys.stderr)
            self.logger.warning("warning: %s", message)

    def _restore(self, path: Path, data: dict[str, Any]) -> None:
        """Put the network, optimiser, schedule, epoch and statistics of ``data`` in place."""
        if data.get("net_type") != self.net_type:
            raise TrainingDiverged(f"{path}: checkpoint of a {data.get('net_type')}, this run trains a {self.net_type}")
        try:
            load_state_dict_strict(unwrap(self.actor.net), data["net"], source=str(path))
            self.optimizer.load_state_dict(data["optimizer"])
            if self.lr_scheduler is not None and data.get("lr_scheduler") is not None:
                self.lr_scheduler.load_state_dict(data["lr_scheduler"])
        except (StateDictMismatch, ValueError, KeyError) as err:  # a checkpoint of other settings
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(f"{path}: does not fit this run's network or optimiser ({reason})") from None
        self.epoch = int(data["epoch"])
        for loader, meters in (data.get("stats") or {}).items():
            for name, state in meters.items():
                self.stats[loader][name] = AverageMeter(history=list(state["history"]))

    # ----- the loop ----------------------------------------------------------------------------
    def train(self, max_epochs: int, load_latest: bool = True) -> None:
        """Train until ``max_epochs``; resumes from the latest checkpoint unless ``load_latest`` is False."""
        if load_latest and self.load_checkpoint():
            if rank() == 0:
                print(f"resuming after epoch {self.epoch} from {self.checkpoint_dir}")
        while self.epoch < max_epochs:
            self.epoch += 1
            seed_everything(int(self.settings.seed) * 100003 + self.epoch)
            ran = [loader.name for loader in self.loaders if self.epoch % loader.epoch_interval == 0]
            for loader in self.loaders:
                if loader.name in ran:
                    self.cycle_dataset(loader)
            plateau = isinstance(self.lr_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
            if self.lr_scheduler is not None and not plateau:
                self.lr_scheduler.step()
            self._end_epoch(ran)
            if plateau:
                self._step_plateau(ran)
            path = self.save_checkpoint()
            if path is not None:
                self.logger.info("epoch %d done, checkpoint %s", self.epoch, path)
        for writer in self._writers.values():
            writer.close()

    def _step_plateau(self, ran: list[str]) -> None:
        """Step a reduce-on-plateau schedule with this epoch's value of ``settings.plateau_metric``.

        ``plateau_metric`` is ``(loader name, statistic)``, by default the mean training loss
        ``('train', 'Loss/total')``; epochs in which that loader did not run leave the schedule alone.
        """
        loader, name = getattr(self.settings, "plateau_metric", ("train", "Loss/total"))
        meter = self.stats.get(loader, {}).get(name)
        if loader not in ran or meter is None or not meter.history:
            return
        self.lr_scheduler.step(meter.history[-1])

    def cycle_dataset(self, loader: LTRLoader) -> None:
        """One pass over ``loader`` (training steps when ``loader.training``)."""
        self.actor.train(loader.training)
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self.epoch)
        if loader.generator is not None:  # shuffling must not depend on earlier epochs (resume)
            loader.generator.manual_seed(int(self.settings.seed) * 100003 + self.epoch)
        meters = self.stats[loader.name]
        bar = tqdm(loader, desc=f"[{loader.name}: {self.epoch}]", unit="batch", disable=rank() != 0, leave=False)
        start = time.perf_counter()
        samples = 0
        skipped_images = 0
        with torch.set_grad_enabled(loader.training):
            for iteration, data in enumerate(bar, 1):
                if isinstance(data, dict) and "skipped_images" in data:
                    skipped_images += int(torch.as_tensor(data.pop("skipped_images")).sum())
                data = self._to_device(data)
                data["epoch"] = self.epoch
                data["settings"] = self.settings
                with self.autocast():
                    loss, stats = self.actor(data)
                if not torch.isfinite(loss.detach()).all():
                    raise TrainingDiverged(
                        f"non-finite loss ({float(loss.detach())}) in epoch {self.epoch}, iteration {iteration} of "
                        f"'{loader.name}'; the last good checkpoint stays in {self.checkpoint_dir}"
                    )
                if loader.training:
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if self.settings.grad_clip_max_norm:
                        nn.utils.clip_grad_norm_(self.actor.net.parameters(), self.settings.grad_clip_max_norm)
                    self.optimizer.step()
                batch_size = _batch_size(data, loader.stack_dim)
                samples += batch_size
                for name, value in stats.items():
                    meters.setdefault(name, AverageMeter()).update(value, batch_size)
                if iteration % self.settings.print_interval == 0 or iteration == len(loader):
                    rate = samples / max(time.perf_counter() - start, 1e-9)
                    shown = {
                        k: f"{m.avg:.5f}"
                        for k, m in meters.items()
                        if self.settings.print_stats is None or k in self.settings.print_stats
                    }
                    bar.set_postfix(fps=f"{rate:.1f}", **shown)
        self._reduce_meters(meters)
        self.skipped_images[loader.name] = skipped_images
        if skipped_images and rank() == 0:
            message = f"{loader.name}: skipped {skipped_images} unreadable image draw(s) in epoch {self.epoch}"
            tqdm.write(message)
            self.logger.info(message)
            self._writer(loader.name).add_scalar("Data/skipped_images", skipped_images, self.epoch)

    def _reduce_meters(self, meters: dict[str, AverageMeter]) -> None:
        """Average statistics over processes so every rank logs the same numbers."""
        if not is_distributed():
            return
        for meter in meters.values():
            totals = torch.tensor([meter.sum, meter.count], dtype=torch.float64)
            dist.all_reduce(totals)
            meter.sum, meter.count = float(totals[0]), float(totals[1])

    def _to_device(self, data: Any) -> Any:
        if isinstance(data, TensorDict) and self.settings.move_data_to_gpu:
            return data.to(self.device)
        if isinstance(data, dict):
            return TensorDict(data).to(self.device)
        return data

    def _end_epoch(self, ran: list[str]) -> None:
        lines = []
        for loader, meters in self.stats.items():
            if loader not in ran:
                continue
            for meter in meters.values():
                meter.new_epoch()
            if rank() == 0 and meters:
                values = {name: m.history[-1] for name, m in meters.items() if m.history}
                writer = self._writer(loader)
                for name, value in values.items():
                    writer.add_scalar(name, value, self.epoch)
                lines.append(f"{loader}: " + ", ".join(f"{k} {v:.5f}" for k, v in values.items()))
        if rank() == 0:
            for i, group in enumerate(self.optimizer.param_groups):
                self._writer("train").add_scalar(f"LearningRate/group{i}", group["lr"], self.epoch)
            message = f"epoch {self.epoch}: " + " | ".join(lines)
            self.logger.info(message)
            tqdm.write(message)


def _batch_size(data: Any, stack_dim: int) -> int:
    for value in data.values() if isinstance(data, dict) else [data]:
        if isinstance(value, torch.Tensor) and value.dim() > stack_dim:
            return int(value.shape[stack_dim])
    return 1
