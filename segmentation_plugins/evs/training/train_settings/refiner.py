"""EVS Refiner (thesis §3.3.5; docs/evs.md §5.2, §7): ICNet's high-level part on warped features.

``python -m ltr_ext.run_training evs refiner [--set preset=camvid|cityscapes] [--set icnet_checkpoint=PATH]``

The thesis gives no training details; this follows the reference's proposal (§7, [D]):

* **Key-frame network**: the trained ICNet of ``evs icnet`` with the same preset and config
  (latest checkpoint in the workspace, or ``icnet_checkpoint``), loaded strictly, frozen, in
  eval mode. It runs in the actor, on the training device, without gradient.
* **Samples**: clips of ``frames_per_sample`` frames (2: pairs, one propagation step; 3:
  triplets, two chained steps, §7.3's chain without intermediate refinement). ICNet's
  features F, probabilities P and labels L of the first frame are warped to the last one.
* **Flow**: DIS with the thesis setting (``flow_method='dis'``, full resolution), computed in
  the data loader's CPU workers on the augmented frames (so flip and scale need no flow
  correction, §7.7) and resized there to the feature (1/16) and propagation (1/4) grids;
  the warps are the inference ones (cv2 nearest, borders as the pipeline's defaults).
* **Refiner**: initialised from the ICNet weights (``Refiner.from_icnet``, §5.2;
  ``init_from_icnet``), trained on the last frame's label with the cascade loss (CE of the
  Refiner's main output plus ICNet's auxiliary terms, 0.16 / 0.4 / 1.0, §7.5), with the same
  class weighting as the preset's ICNet. Monitored: ``Stats/warped_acc`` (the warped labels
  alone) and ``Stats/refined_acc`` (the IAM blend of eq. 3.4), against ``Stats/pixel_acc``.
* **Augmentation**: flip, scale and a crop to ``crop_size`` of all frames before the flow
  (batches need one size: this is the frame that ICNet, the flow and the warps see), and
  optionally a second crop ``refine_crop`` (multiples of 16) taken *after* the warps, where
  the Refiner runs (§7.7).

Data per preset (:data:`REFINER_PRESETS`):

* ``camvid`` (default): **real CamVid train pairs at 1 Hz** (neighbouring labelled frames up to
  31 source frames apart, ``train_max_frame_step=31``; the SegNet copy has no unlabelled
  in-between frames, so real pairs are 1 s apart, far more motion than at video rate)
  **plus generated street clips at video rate** (``generated_videos=8`` of 24 frames at the
  input size, written once into the workspace; the same clips as LMANet's camvid preset).
  546 pairs (362 real, 184 generated). Adam 2e-4 (fine-tuning from ICNet's weights), poly
  decay, batch 8, 320x256 frames, 10 epochs of 68 iterations (1.3-1.6 s per iteration measured on
  this shared 2-core CPU with one torch thread, flow included: 15-18 minutes).
* ``cityscapes``: the snippets' frames 19 and 20 (17 Hz), the §6.3 recipe (SGD 0.01, poly 0.9,
  batch 16, 163 epochs = 30K iterations), scale [0.5, 2] of full 2048x1024 frames and a
  1024x1024 Refiner crop after the warps.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch
from torch.utils.data import Dataset

from ltr_ext.admin.loading import load_state_dict_strict
from ltr_ext.admin.model_constructor import model_constructor
from ltr_ext.trainers import LTRTrainer
from pytracking_ext.errors import SettingsError
from segmentation_plugins.data import ClipAugment
from segmentation_plugins.training.clip_data import ClipTensors, clip_datasets

from ...models import Refiner
from ...models import build_refiner as _new_refiner
from ...pipeline import PipelineConfig
from ..actors import PropagationSettings, RefinerActor
from ..flow_clips import FlowClips
from ..icnet_weights import load_icnet
from ..presets import apply_preset
from ..recipe import class_weights, fork_safe_opencv, loaders, optimisation

REFINER_PRESETS: dict[str, dict[str, Any]] = {
    "cityscapes": dict(
        batch_size=16, max_epochs=163, lr=0.01, crop_size=(2048, 1024), refine_crop=(1024, 1024), scale_range=(0.5, 2.0)
    ),
    "camvid": dict(
        batch_size=8,
        max_epochs=10,
        lr=2e-4,
        crop_size=(320, 256),
        refine_crop=None,
        scale_range=(0.75, 1.5),
        generated_videos=8,
        generated_frames=24,
    ),
}


def propagation_settings(settings: Any) -> PropagationSettings:
    names = PropagationSettings.__dataclass_fields__
    return PropagationSettings(**{name: getattr(settings, name) for name in names})


def build_refiner(settings: Any, icnet: torch.nn.Module) -> torch.nn.Module:
    """A Refiner of ICNet's configuration, with ICNet's weights when ``init_from_icnet`` (§5.2)."""
    refiner = model_constructor(_new_refiner)(
        config=settings.icnet_config, num_classes=settings.num_classes, uses_pwarped=settings.uses_pwarped
    )
    if settings.init_from_icnet:
        source = Refiner.from_icnet(icnet, uses_pwarped=settings.uses_pwarped)
        load_state_dict_strict(refiner, source.state_dict(), source="Refiner.from_icnet")
    return refiner


def project_path(settings: Any) -> str:
    variant = f"k{settings.frames_per_sample - 1}" + ("_pwarped" if settings.uses_pwarped else "")
    return f"ltr/{settings.module_name}/refiner_{settings.preset}_{settings.icnet_config}_{variant}"


def build(settings: Any) -> tuple[RefinerActor, list, Any, Any]:
    """Actor, loaders, optimiser and schedule of a Refiner run (``run`` trains them)."""
    preset = apply_preset(
        settings,
        REFINER_PRESETS,
        frames_per_sample=2,
        icnet_checkpoint=None,
        init_from_icnet=True,
        uses_pwarped=False,
        **PipelineConfig.defaults("flow"),
        **asdict(PropagationSettings()),
    )
    settings.defaults(description=f"EVS Refiner, preset {preset}")
    if not isinstance(settings.frames_per_sample, int) or settings.frames_per_sample < 2:
        raise SettingsError(
            f"frames_per_sample must be an integer >= 2 (2: pairs, 3: triplets), got {settings.frames_per_sample!r}"
        )
    settings.project_path = project_path(settings)
    icnet, path = load_icnet(settings)  # before the data: a missing ICNet fails fast
    settings.icnet_source = str(path)  # recorded in the checkpoint's settings
    augment = ClipAugment(
        flip_prob=settings.flip_prob,
        max_shift=settings.max_shift,
        scale_range=tuple(settings.scale_range) if settings.scale_range else None,
        crop_size=tuple(settings.crop_size) if settings.crop_size else None,
    )
    length = settings.frames_per_sample

    def flow_clips(clips: Dataset) -> FlowClips:
        return FlowClips(clips, settings.flow_method, settings.flow_scale, settings.propagation_stride)

    train = flow_clips(ClipTensors(clip_datasets(settings, length, training=True), augment))
    data = loaders(settings, train, lambda: flow_clips(ClipTensors(clip_datasets(settings, length, training=False))))
    refiner = build_refiner(settings, icnet)
    actor = RefinerActor(
        refiner,
        icnet,
        class_weights(settings),
        cascade_weights=tuple(settings.cascade_weights),
        propagation=propagation_settings(settings),
        crop=tuple(settings.refine_crop) if settings.refine_crop else None,
    )
    optimizer, scheduler = optimisation(settings, refiner)
    fork_safe_opencv(settings)
    return actor, data, optimizer, scheduler


def run(settings: Any) -> None:
    actor, data, optimizer, scheduler = build(settings)
    LTRTrainer(actor, data, optimizer, settings, scheduler).train(settings.max_epochs)
