"""EVS training (thesis ch. 3; evs_reference §6.3, §7): the key-frame ICNet first, then the Refiner.

``python -m ltr_ext.run_training evs icnet [--set preset=camvid|cityscapes]`` (icnet.py), then
``python -m ltr_ext.run_training evs refiner [--set preset=...] [--set icnet_checkpoint=PATH]``
(refiner.py). One settings module per network; the preset (default ``camvid``) picks the data
and the recipe:

* ``cityscapes``: the Cityscapes-faithful recipe of §6.3: standard ICNet (19 classes),
  SGD (lr 0.01, momentum 0.9, weight decay 1e-4), poly decay (power 0.9), batch 16, random
  mirror and rescaling in [0.5, 2] then a 1024x1024 crop, 30K iterations, plain (unweighted)
  cascade loss. Deviation: no ImageNet/PSPNet initialisation and no kernel pruning (we have
  neither); the network starts from scratch.
* ``camvid``: this machine's scale: the ``small`` ICNet on CamVid (11 classes) at 480x352,
  Adam and poly decay, class weights ``1 / ln(1.10 + f_c)`` as LMANet's (the reference gives
  none for CamVid); see icnet.py for the reasons.

:data:`PRESETS` holds what both networks share; icnet.py and refiner.py add their own values
per preset. ``--set key=value`` overrides any of them. Checkpoints go to
``checkpoints/ltr/evs/icnet_<preset>_<config>`` and ``.../refiner_<preset>_<config>_k<steps>``
(``_pwarped`` for that variant), so runs of other configurations never resume each other.
The poly decay is applied per epoch (the trainer steps schedules per epoch), close to the
per-iteration decay of the reference at these epoch counts.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import Dataset, RandomSampler

from pytracking_ext.errors import SettingsError
from pytracking_ext.registry import Registry

from ...admin.checkpoint import latest_checkpoint, read_checkpoint
from ...admin.loading import StateDictMismatch, load_state_dict_strict
from ...admin.model_constructor import model_constructor
from ...data.loader import LTRLoader
from ...trainers import worker_init_fn

# ----- presets -----------------------------------------------------------------------------------
PRESETS = Registry("EVS preset")
PRESETS.add_all({
    # evs_reference §6.3 on Cityscapes fine (train 2975 images, val 500), full resolution
    "cityscapes": dict(dataset="cityscapes", num_classes=19, input_size=(2048, 1024), icnet_config="standard",
                       class_weighting="none", optimizer="sgd", schedule="poly", num_workers=8,
                       train_split="train", val_split="val"),
    # this machine's scale: CamVid (SegNet split, train 367 frames) at 480x352
    "camvid": dict(dataset="camvid", num_classes=11, input_size=(480, 352), icnet_config="small",
                   class_weighting="log_inverse", optimizer="adam", schedule="poly", num_workers=2,
                   train_split="train", val_split="val"),
})

COMMON_DEFAULTS: dict[str, Any] = dict(
    cascade_weights=(0.16, 0.4, 1.0),  # 1/16, 1/8, 1/4 outputs (§6.2, public TF port)
    class_weight_c=1.10, lr_power=0.9, momentum=0.9, weight_decay=1e-4, lr_factor=0.5, lr_patience=2, min_lr=1e-7,
    flip_prob=0.5, max_shift=0, print_interval=10, val_epoch_interval=0, samples_per_epoch=None,
    generated_videos=0, generated_frames=30, generated_seed=0, train_max_frame_step=31, val_max_frame_step=2,
)


def apply_preset(settings: Any, network_presets: dict[str, dict[str, Any]], **defaults: Any) -> str:
    """Fill ``settings`` for ``settings.preset``: the network's preset values, the shared ones, then ``defaults``.

    ``--set`` values win over all of them (``Settings.defaults`` never overwrites them).
    """
    settings.defaults(preset="camvid")
    preset = settings.preset
    shared = PRESETS.get(preset)  # an unknown preset raises, listing the known ones
    settings.defaults(**network_presets[preset])
    settings.defaults(**shared)
    settings.defaults(**defaults)
    settings.defaults(**COMMON_DEFAULTS)
    return preset


# ----- class weights -----------------------------------------------------------------------------
def _log_inverse(settings: Any) -> torch.Tensor:
    """LMANet's ``1 / ln(c + f_c)`` over the real training frames (single frames never include generated
    clips), cached in the workspace; ICNet and its Refiner get the same weights."""
    from ..lmanet import class_weights as lmanet_class_weights, clip_datasets

    return lmanet_class_weights(settings, clip_datasets(settings, 1, training=True))


CLASS_WEIGHTINGS = Registry("EVS class weighting")
CLASS_WEIGHTINGS.add_all({"none": lambda settings: None, "log_inverse": _log_inverse})


def class_weights(settings: Any) -> torch.Tensor | None:
    return CLASS_WEIGHTINGS.get(settings.class_weighting)(settings)


# ----- optimisation ------------------------------------------------------------------------------
OPTIMIZERS = Registry("EVS optimizer")
OPTIMIZERS.add_all({
    "sgd": lambda params, s: torch.optim.SGD(params, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay),
    "adam": lambda params, s: torch.optim.Adam(params, lr=s.lr, betas=(0.9, 0.999), weight_decay=s.weight_decay),
})

SCHEDULES = Registry("EVS learning-rate schedule")
SCHEDULES.add_all({
    # "poly": lr * (1 - epoch / max_epochs) ** power, stepped after every epoch
    "poly": lambda opt, s: torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=int(s.max_epochs), power=s.lr_power),
    "plateau": lambda opt, s: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=s.lr_factor,
                                                                         patience=s.lr_patience, min_lr=s.min_lr),
})


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
    result = [LTRLoader("train", train, training=True, batch_size=settings.batch_size, shuffle=sampler is None,
                        sampler=sampler, num_workers=settings.num_workers, drop_last=True,
                        worker_init_fn=worker_init_fn, generator=generator)]
    if settings.val_epoch_interval and val is not None:
        result.append(LTRLoader("val", val(), training=False, batch_size=settings.batch_size,
                                num_workers=settings.num_workers, worker_init_fn=worker_init_fn,
                                epoch_interval=settings.val_epoch_interval))
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


# ----- ICNet -------------------------------------------------------------------------------------
def icnet_project_path(settings: Any) -> str:
    return f"ltr/{settings.module_name}/icnet_{settings.preset}_{settings.icnet_config}"


def build_icnet(settings: Any) -> torch.nn.Module:
    """A new ICNet of the preset's configuration (its constructor is recorded for checkpoints)."""
    from segmentation_plugins.evs.models import build_icnet as build

    return model_constructor(build)(config=settings.icnet_config, num_classes=settings.num_classes)


def icnet_checkpoint(settings: Any) -> Path:
    """``--set icnet_checkpoint=PATH``, else the latest checkpoint of ``evs icnet`` with this preset and config."""
    if settings.icnet_checkpoint:
        path = Path(settings.icnet_checkpoint).expanduser()
        if not path.is_file():
            raise SettingsError(f"icnet_checkpoint {path}: no such file")
        return path
    folder = Path(settings.env.workspace_dir) / "checkpoints" / icnet_project_path(settings)
    path = latest_checkpoint(folder, "ICNet")
    if path is None:
        raise SettingsError(f"no ICNet checkpoint in {folder}: train it first (python -m ltr_ext.run_training "
                            f"{settings.module_name} icnet --set preset={settings.preset}) or give one with "
                            "--set icnet_checkpoint=PATH")
    return path


def load_icnet(settings: Any) -> tuple[torch.nn.Module, Path]:
    """The trained ICNet (strict loading) and the checkpoint it came from."""
    path = icnet_checkpoint(settings)
    data = read_checkpoint(path)
    if data.get("net_type", "ICNet") != "ICNet":
        raise SettingsError(f"{path}: a checkpoint of a {data['net_type']}, not of an ICNet")
    net = build_icnet(settings)
    try:
        load_state_dict_strict(net, data.get("net", data), source=str(path))
    except StateDictMismatch as err:
        wanted = f"an ICNet '{settings.icnet_config}' with {settings.num_classes} classes"
        raise SettingsError(f"not {wanted}: {err}") from None
    return net, path
