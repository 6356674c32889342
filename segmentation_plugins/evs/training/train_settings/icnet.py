"""EVS key-frame network: ICNet with cascade label guidance (docs/evs.md §6.2-6.3).

``python -m ltr_ext.run_training evs icnet [--set preset=camvid|cityscapes] [--set key=value ...]``

Loss: cross-entropy of the 1/16, 1/8 and 1/4 outputs against the label downscaled by nearest
neighbour, weighted 0.16 / 0.4 / 1.0 (``cascade_weights``), per-class weighted in the CamVid
preset. Augmentation: random scale (``scale_range``), random ``crop_size`` window (the
translation; padded with ignore where the scaled frame is smaller), horizontal flip, optional
``max_shift``. Stats: ``Loss/total``, the unweighted per-scale terms ``Loss/1_16``, ``Loss/1_8``,
``Loss/1_4`` and ``Stats/pixel_acc``.

Presets (:data:`ICNET_PRESETS`; shared values in ``training/presets.py``):

* ``cityscapes``: §6.3: standard ICNet, SGD 0.01 / momentum 0.9 / weight decay 1e-4, poly 0.9,
  batch 16, scale [0.5, 2], 1024x1024 crops (the reference's [D]; 720x720 is its fallback),
  163 epochs of 185 iterations (2975 images, batch 16) = 30K iterations.
* ``camvid`` (default): ``small`` ICNet (1.2M parameters, 1/4.7 of the standard one's FLOPs)
  trained from scratch on CamVid train frames resized to 480x352, random scale [0.75, 1.5] and
  320x256 crops, batch 8, Adam 1e-3 with poly decay, 40 epochs of 45 iterations (0.65-0.9 s
  per iteration measured on this shared 2-core CPU with one torch thread: 20-28 minutes). Why: with no ImageNet
  weights a from-scratch network needs many updates, and the standard ICNet costs 4.7x the
  FLOPs of the small one (2.2 s per iteration measured), so it would get ~12 epochs. Crops of about half
  the frame follow the §6.3 ratio (1024x1024 of 2048x1024) while objects keep the scale of
  480x360 evaluation frames (D = 1), which training on 240x176 frames would halve. Adam
  rather than SGD 0.01: ~1800 iterations leave no time for SGD's slow start from scratch.
  Real frames only: the clip data shared with LMANet (``segmentation_plugins.training``) adds
  generated street videos to clips and never to single frames (they lack fence and bicyclist and
  are another domain anyway).
"""

from __future__ import annotations

from typing import Any

from ltr_ext.trainers import LTRTrainer
from segmentation_plugins.data import ClipAugment
from segmentation_plugins.training.clip_data import ClipTensors, clip_datasets

from ..actors import ICNetActor
from ..icnet_weights import build_icnet, icnet_project_path
from ..presets import apply_preset
from ..recipe import class_weights, fork_safe_opencv, loaders, optimisation

ICNET_PRESETS: dict[str, dict[str, Any]] = {
    "cityscapes": dict(batch_size=16, max_epochs=163, lr=0.01, crop_size=(1024, 1024), scale_range=(0.5, 2.0)),
    "camvid": dict(batch_size=8, max_epochs=40, lr=1e-3, crop_size=(320, 256), scale_range=(0.75, 1.5)),
}


def build(settings: Any) -> tuple[ICNetActor, list, Any, Any]:
    """Actor, loaders, optimiser and schedule of an ICNet run (``run`` trains them)."""
    preset = apply_preset(settings, ICNET_PRESETS)
    settings.defaults(description=f"EVS ICNet, preset {preset}")
    settings.project_path = icnet_project_path(settings)
    augment = ClipAugment(
        flip_prob=settings.flip_prob,
        max_shift=settings.max_shift,
        scale_range=tuple(settings.scale_range) if settings.scale_range else None,
        crop_size=tuple(settings.crop_size) if settings.crop_size else None,
    )
    train = ClipTensors(clip_datasets(settings, 1, training=True), augment)
    data = loaders(settings, train, lambda: ClipTensors(clip_datasets(settings, 1, training=False)))
    net = build_icnet(settings)
    actor = ICNetActor(net, class_weights(settings), cascade_weights=tuple(settings.cascade_weights))
    optimizer, scheduler = optimisation(settings, net)
    fork_safe_opencv(settings)
    return actor, data, optimizer, scheduler


def run(settings: Any) -> None:
    actor, data, optimizer, scheduler = build(settings)
    LTRTrainer(actor, data, optimizer, settings, scheduler).train(settings.max_epochs)
