"""The parts of an EVS training run both networks share: class weights, optimiser, schedule, loaders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import Dataset, RandomSampler

from ltr_ext.data.loader import LTRLoader
from ltr_ext.trainers import worker_init_fn
from pytracking_ext.registry import Registry
from segmentation_plugins.training.clip_data import class_weights as clip_class_weights
from segmentation_plugins.training.clip_data import clip_datasets


# ----- class weights -----------------------------------------------------------------------------
def _log_inverse(settings: Any) -> torch.Tensor:
    """LMANet's ``1 / ln(c + f_c)`` over the real training frames (single frames never include generated
    clips), cached in the workspace; ICNet and its Refiner get the same weights."""
    return clip_class_weights(settings, clip_datasets(settings, 1, training=True))


CLASS_WEIGHTINGS = Registry("EVS class weighting")
CLASS_WEIGHTINGS.add_all({"none": lambda settings: None, "log_inverse": _log_inverse})


def class_weights(settings: Any) -> torch.Tensor | None:
    """The class weights of ``settings.class_weighting`` (None: unweighted)."""
    return CLASS_WEIGHTINGS.get(settings.class_weighting)(settings)


# ----- optimisation ------------------------------------------------------------------------------
OPTIMIZERS = Registry("EVS optimizer")
OPTIMIZERS.add_all(
    {
        "sgd": lambda params, s: torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay),
        "adam": lambda params, s: torch.optim.Adam(params, lr=s.lr, betas=(0.9, 0.999), weight_decay=s.weight_decay),
    }
)

SCHEDULES = Registry("EVS learning-rate schedule")
SCHEDULES.add_all(
    {
        # "poly": lr * (1 - epoch / max_epochs) ** power, stepped after every epoch
        "poly": lambda opt, s: torch.optim.lr_scheduler.PolynomialLR(
            opt, total_iters=int(s.max_epochs), power=s.lr_power
        ),
        "plateau": lambda opt, s: torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, factor=s.lr_factor, patience=s.lr_patience, min_lr=s.min_lr
        ),
    }
)


def optimisation(settings: Any, net: torch.nn.Module) -> tuple[torch.optim.Optimizer, Any]:
    """The preset's optimiser over the trainable parameters of ``net`` and its schedule."""
    optimizer = OPTIMIZERS.get(settings.optimizer)([p for p in net.parameters() if p.requires_grad], settings)
    return optimizer, SCHEDULES.get(settings.schedule)(optimizer, settings)


# ----- loaders -----------------------------------------------------------------------------------
def loaders(settings: Any, train: Dataset, val: Callable[[], Dataset] | None = None) -> list[LTRLoader]:
    """The training loader (``samples_per_epoch`` random samples per epoch, default all) and, every
    ``val_epoch_interval`` epochs, a validation loader over ``val()``."""
    generator = torch.Generator().manual_seed(int(settings.seed))
    count = settings.samples_per_epoch
    sampler = RandomSampler(train, num_samples=int(count), generator=generator) if count else None
    result = [
        LTRLoader(
            "train",
            train,
            training=True,
            batch_size=settings.batch_size,
            shuffle=sampler is None,
            sampler=sampler,
            num_workers=settings.num_workers,
            drop_last=True,
            worker_init_fn=worker_init_fn,
            generator=generator,
        )
    ]
    if settings.val_epoch_interval and val is not None:
        result.append(
            LTRLoader(
                "val",
                val(),
                training=False,
                batch_size=settings.batch_size,
                num_workers=settings.num_workers,
                worker_init_fn=worker_init_fn,
                epoch_interval=settings.val_epoch_interval,
            )
        )
    return result


def fork_safe_opencv(settings: Any) -> None:
    """With loader workers, run OpenCV single-threaded in this process from here on.

    Loader workers are forked. A child forked while OpenCV's thread pool is alive (after the
    street generation, the class weights or a warp) can hang in its first OpenCV call; this
    happened intermittently with DIS under load. Stopping the pool before the first fork avoids
    it; the workers inherit the single thread (they are the parallelism) and the main process's
    warps and label resizes are small.
    """
    if settings.num_workers:
        import cv2

        cv2.setNumThreads(1)
