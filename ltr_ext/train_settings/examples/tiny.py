"""A tiny, self-contained training run: segment a moving textured square, on generated frames.

Runs in well under two minutes on a CPU (2 epochs) and exercises everything the real settings
use: LTRLoader with ``stack_dim=1`` (frames-first batches), an actor, Adam with a step schedule,
checkpoints, TensorBoard and resume. Values can be overridden from the command line:
``python -m ltr_ext.run_training examples tiny --set max_epochs=3 --set samples_per_epoch=64``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset, DistributedSampler

from ltr_ext.actors import BaseActor
from ltr_ext.admin.model_constructor import model_constructor
from ltr_ext.data.loader import LTRLoader
from ltr_ext.data.tensordict import TensorDict
from ltr_ext.trainers import LTRTrainer, worker_init_fn


class MovingSquares(Dataset):
    """Sample i: ``frames`` images (3 x size x size) of a square moving over noise, and its masks."""

    def __init__(self, length: int, frames: int = 2, size: int = 32, seed: int = 0) -> None:
        self.length, self.frames, self.size, self.seed = length, frames, size, seed

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> TensorDict:
        rng = np.random.default_rng((self.seed, index))
        images = rng.uniform(0, 0.5, size=(self.frames, 3, self.size, self.size)).astype(np.float32)
        masks = np.zeros((self.frames, self.size, self.size), np.float32)
        side = int(rng.integers(6, 12))
        x, y = rng.integers(0, self.size - side, size=2)
        dx, dy = rng.integers(-3, 4, size=2)
        colour = rng.uniform(0.6, 1.0, size=3).astype(np.float32)
        for t in range(self.frames):
            xt, yt = int(np.clip(x + t * dx, 0, self.size - side)), int(np.clip(y + t * dy, 0, self.size - side))
            images[t, :, yt : yt + side, xt : xt + side] = colour[:, None, None]
            masks[t, yt : yt + side, xt : xt + side] = 1
        return TensorDict(images=torch.from_numpy(images), masks=torch.from_numpy(masks))


class TinySegNet(nn.Module):
    """Three convolutions: image -> mask logits."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()
        )
        self.head = nn.Conv2d(channels, 1, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))[:, 0]


@model_constructor
def tiny_segnet(channels: int = 16) -> TinySegNet:
    return TinySegNet(channels)


class TinyActor(BaseActor):
    """Binary cross-entropy on every frame of the frames-first batch."""

    def __call__(self, data: TensorDict) -> tuple[torch.Tensor, dict[str, float]]:
        images, masks = data["images"], data["masks"]  # (frames, batch, 3, H, W), (frames, batch, H, W)
        logits = self.net(images.flatten(0, 1)).view_as(masks)
        loss = F.binary_cross_entropy_with_logits(logits, masks) * self.objective
        accuracy = ((logits > 0).float() == masks).float().mean()
        return loss, {"Loss/total": loss.item(), "Stats/accuracy": accuracy.item()}


def build(settings):
    """Actor, loaders, optimiser and scheduler of this settings module (benchmarks reuse it)."""
    settings.defaults(
        description="Tiny example: segment a moving square",
        batch_size=8,
        num_workers=0,
        samples_per_epoch=256,
        val_samples=64,
        max_epochs=2,
        learning_rate=2e-3,
        print_interval=8,
        loss_weight=1.0,
    )
    train_set = MovingSquares(settings.samples_per_epoch, seed=settings.seed)
    val_set = MovingSquares(settings.val_samples, seed=settings.seed + 1)
    distributed = dist.is_available() and dist.is_initialized()
    sampler = DistributedSampler(train_set, shuffle=True, seed=settings.seed) if distributed else None
    generator = torch.Generator().manual_seed(settings.seed)
    train_loader = LTRLoader(
        "train",
        train_set,
        training=True,
        batch_size=settings.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=settings.num_workers,
        stack_dim=1,
        drop_last=True,
        worker_init_fn=worker_init_fn,
        generator=generator,
        pin_memory=settings.device.type == "cuda",
    )
    val_loader = LTRLoader(
        "val",
        val_set,
        training=False,
        batch_size=settings.batch_size,
        num_workers=settings.num_workers,
        stack_dim=1,
        epoch_interval=2,
    )
    net = tiny_segnet()
    actor = TinyActor(net, settings.loss_weight)
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    return actor, [train_loader, val_loader], optimizer, scheduler


def run(settings) -> None:
    actor, loaders, optimizer, scheduler = build(settings)
    LTRTrainer(actor, loaders, optimizer, settings, scheduler).train(settings.max_epochs)
