"""EVS training presets (thesis ch. 3; docs/evs.md §6.3, §7): what ICNet and the Refiner share.

``python -m ltr_ext.run_training evs icnet [--set preset=camvid|cityscapes]`` (icnet.py), then
``python -m ltr_ext.run_training evs refiner [--set preset=...] [--set icnet_checkpoint=PATH]``
(refiner.py), both in ``training/train_settings``. One settings module per network; the preset
(default ``camvid``) picks the data and the recipe:

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

from typing import Any

from pytracking_ext.registry import Registry

PRESETS = Registry("EVS preset")
PRESETS.add_all(
    {
        # docs/evs.md §6.3 on Cityscapes fine (train 2975 images, val 500), full resolution
        "cityscapes": dict(
            dataset="cityscapes",
            num_classes=19,
            input_size=(2048, 1024),
            icnet_config="standard",
            class_weighting="none",
            optimizer="sgd",
            schedule="poly",
            num_workers=8,
            train_split="train",
            val_split="val",
        ),
        # this machine's scale: CamVid (SegNet split, train 367 frames) at 480x352
        "camvid": dict(
            dataset="camvid",
            num_classes=11,
            input_size=(480, 352),
            icnet_config="small",
            class_weighting="log_inverse",
            optimizer="adam",
            schedule="poly",
            num_workers=2,
            train_split="train",
            val_split="val",
        ),
    }
)

COMMON_DEFAULTS: dict[str, Any] = dict(
    cascade_weights=(0.16, 0.4, 1.0),  # 1/16, 1/8, 1/4 outputs (§6.2, public TF port)
    class_weight_c=1.10,
    lr_power=0.9,
    momentum=0.9,
    weight_decay=1e-4,
    lr_factor=0.5,
    lr_patience=2,
    min_lr=1e-7,
    flip_prob=0.5,
    max_shift=0,
    print_interval=10,
    val_epoch_interval=0,
    samples_per_epoch=None,
    generated_videos=0,
    generated_frames=30,
    generated_seed=0,
    train_max_frame_step=31,
    val_max_frame_step=2,
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
