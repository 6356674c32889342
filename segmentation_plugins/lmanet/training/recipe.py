"""LMANet training (thesis 4.3.5): a single-frame network first, then the memory in two stages.

``python -m ltr_ext.run_training lmanet PRESET [--set stage=1|2]``, presets in
:data:`~segmentation_plugins.lmanet.training.presets.PRESETS`:

* ``stage='single'`` (default): the backbone's encoder + decoder on single frames (``build_single_frame``).
* ``stage=1``: LMANet with encoder and decoder loaded from the single-frame run and frozen (eval
  mode: BN statistics and dropout fixed); key/value heads and fusion trained from scratch.
* ``stage=2``: from the stage-1 weights, heads, fusion and decoder trained jointly (encoder frozen
  unless ``train_encoder``).

Common to all: Adam (betas 0.9/0.999, weight decay 1e-4), reduce-on-plateau of the mean training
loss by ``lr_factor`` down to ``min_lr``, weighted cross-entropy on the last frame with
``w_c = 1 / ln(class_weight_c + f_c)`` (f_c: pixel frequency of class c on the training set),
horizontal flip and a small translation applied to whole clips. Runs of other memory sizes,
windows, attention or fusion go to their own checkpoint folder (``..._S3_P21``, ``..._S4_global``,
``..._S3_P21_concat``), so ``--set memory_size=4`` never resumes a different model. Epochs are per
stage (``single_epochs``, ``stage1_epochs``, ``stage2_epochs``, presets.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ltr_ext.actors import ClipSegmentationActor
from ltr_ext.admin.checkpoint import latest_checkpoint, read_checkpoint
from ltr_ext.admin.loading import load_state_dict_strict
from ltr_ext.admin.model_constructor import model_constructor
from ltr_ext.data.loader import LTRLoader
from ltr_ext.trainers import LTRTrainer, worker_init_fn
from pytracking_ext.errors import SettingsError
from segmentation_plugins.data import ClipAugment
from segmentation_plugins.training.clip_data import ClipTensors, class_weights, clip_datasets

from ..models.lmanet import build_lmanet, build_single_frame
from .presets import COMMON, PRESETS, STAGE_EPOCHS, STAGES


def variant(settings: Any) -> str:
    """``S3_P21``, ``S4_global``, ``S3_P21_concat``: the part of the memory configuration that
    changes the weights (the default gated fusion adds nothing, so older folders keep their names)."""
    reading = "global" if settings.attention == "global" else f"P{settings.window}"
    fusion = getattr(settings, "fusion", "gated")
    return f"S{settings.memory_size}_{reading}" + ("" if fusion == "gated" else f"_{fusion}")


def project_path(settings: Any, stage: Any) -> str:
    """The checkpoint folder of ``stage``: ``ltr/<module>/<preset>_single`` or ``..._stage<N>_<variant>``."""
    base = f"ltr/{settings.module_name}/{settings.preset}"
    return f"{base}_single" if stage == "single" else f"{base}_stage{stage}_{variant(settings)}"


def _latest(settings: Any, stage: Any, net_type: str | None = None) -> Path:
    folder = Path(settings.env.workspace_dir) / "checkpoints" / project_path(settings, stage)
    path = latest_checkpoint(folder, net_type)
    if path is None:
        raise SettingsError(
            f"no {net_type} checkpoint in {folder}: train stage {stage} first "
            f"(run_training lmanet {settings.preset} --set stage={stage!r})"
            " or give one with --set init_checkpoint=PATH"
        )
    return path


def build_network(settings: Any, stage: Any) -> torch.nn.Module:
    """The network of ``stage``, with the weights of the previous stage (or ``init_checkpoint``) loaded."""
    if stage == "single":
        return model_constructor(build_single_frame)(
            backbone=settings.backbone, num_classes=settings.num_classes, pretrained=settings.pretrained_backbone
        )
    net = model_constructor(build_lmanet)(
        backbone=settings.backbone,
        memory_size=settings.memory_size,
        window=settings.window,
        num_classes=settings.num_classes,
        attention=settings.attention,
        fusion=settings.fusion,
    )
    if stage == 1:
        path = (
            Path(settings.init_checkpoint)
            if settings.init_checkpoint
            else _latest(settings, "single", "SingleFrameNet")
        )
        state = read_checkpoint(path)
        net.load_single_frame(state.get("net", state), source=str(path))
    else:
        path = Path(settings.init_checkpoint) if settings.init_checkpoint else _latest(settings, 1, type(net).__name__)
        state = read_checkpoint(path)
        load_state_dict_strict(net, state.get("net", state), source=str(path))
    return net


def frozen_parts(settings: Any, stage: Any, net: torch.nn.Module) -> list[str]:
    """Stage 1 freezes everything the single-frame net had; stage 2 only the encoder (unless ``train_encoder``)."""
    if stage == "single":
        return []
    frozen = [] if settings.train_encoder else ["encoder"]
    return frozen + (list(net.decoder_stages) if stage == 1 else [])


def run_preset(settings: Any, preset: str) -> None:
    """Train ``preset`` at ``settings.stage`` ('single' by default, then 1 and 2); ``--set`` overrides any value."""
    settings.defaults(stage="single")
    stage = settings.stage
    if stage not in STAGES:
        raise SettingsError(f"unknown LMANet stage {stage!r}; stages: {', '.join(map(str, STAGES))}")
    settings.defaults(preset=preset, description=f"LMANet {preset}, stage {stage}", **{**COMMON, **PRESETS[preset]})
    settings.defaults(max_epochs=getattr(settings, STAGE_EPOCHS[stage]))  # --set max_epochs wins
    settings.project_path = project_path(settings, stage)
    train_stage(settings, stage)


def train_stage(settings: Any, stage: Any) -> None:
    """Train ``stage`` with ``settings`` (a preset's values already applied): data, network with its
    frozen parts, Adam with plateau decay, the LTR trainer. ``samples_per_epoch`` > 0 draws that many
    random clips per epoch instead of every clip once."""
    clip_length = 1 if stage == "single" else settings.memory_size + 1
    train_clips = clip_datasets(settings, clip_length, training=True)
    weights = class_weights(settings, clip_datasets(settings, 1, training=True))
    augment = ClipAugment(flip_prob=settings.flip_prob, max_shift=settings.max_shift)
    generator = torch.Generator().manual_seed(int(settings.seed))
    train_tensors = ClipTensors(train_clips, augment)
    samples = int(settings.samples_per_epoch or 0)
    # N random clips per epoch: runs of different memory sizes take the same number of steps
    # (the trainer reseeds the generator each epoch, so the draw depends on seed and epoch only)
    order = (
        {"sampler": torch.utils.data.RandomSampler(train_tensors, num_samples=samples, generator=generator)}
        if samples > 0
        else {"shuffle": True}
    )
    loaders = [
        LTRLoader(
            "train",
            train_tensors,
            training=True,
            batch_size=settings.batch_size,
            num_workers=settings.num_workers,
            drop_last=True,
            worker_init_fn=worker_init_fn,
            generator=generator,
            **order,
        )
    ]
    if settings.val_epoch_interval:
        loaders.append(
            LTRLoader(
                "val",
                ClipTensors(clip_datasets(settings, clip_length, training=False)),
                training=False,
                batch_size=settings.batch_size,
                num_workers=settings.num_workers,
                epoch_interval=settings.val_epoch_interval,
            )
        )
    net = build_network(settings, stage)
    actor = ClipSegmentationActor(net, weights, frozen=frozen_parts(settings, stage, net))
    trainable = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(
        trainable, lr=settings.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=settings.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=settings.lr_factor, patience=settings.lr_patience, min_lr=settings.min_lr
    )
    LTRTrainer(actor, loaders, optimizer, settings, scheduler).train(settings.max_epochs)
