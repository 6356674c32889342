"""RTS with the rts50 network, as the release trains it (docs/rts.md B).

Data (B.1): YouTube-VOS 2019 train (weight 6), DAVIS 2017 train (1), GOT-10k train with
pregenerated masks (6), LaSOT train with pregenerated masks (6); validation on YouTube-VOS 2019
every 5 epochs. Folders come from the LTR environment (``LTR_YOUTUBEVOS_DIR``, ``LTR_DAVIS_DIR``,
``LTR_GOT10K_DIR``, ``LTR_LASOT_DIR``, ``LTR_PREGENERATED_MASKS``). The release's custom splits
(YouTube-VOS ``jjtrain``/``jjvalid``, GOT-10k ``vottrain``) are lists in LTR's ``data_specs``;
point ``youtubevos_train_list``, ``youtubevos_val_list`` and ``got10k_train_list`` at them to
train on exactly those videos (without them the full train split is used). Initialise from LWL
with ``--set lwl_checkpoint=/path/lwl_stage2.pth`` (B.5). 200 epochs of 15000 samples, Adam,
learning rates 4e-5 / 8e-5 / 2e-4 decayed by 0.2 at epochs 25, 115 and 160 (B.6).
"""

from __future__ import annotations

from pathlib import Path

from ...dataset import davis, got10k, lasot, subset, with_pregenerated_masks, youtubevos
from ...models.rts import build_rts50
from ._recipe import (
    ABLATION_DEFAULTS,
    BACKBONE_STRIDE_CLF,
    InputFormat,
    load_lwl_parts,
    loaders,
    parameter_groups,
    train,
)

BGR255 = InputFormat(mean=(102.9801, 115.9465, 122.7717), std=(1.0, 1.0, 1.0), bgr255=True)


def _maybe_subset(dataset, list_file):
    return subset(dataset, list_file) if list_file else dataset


def datasets(settings):
    """Training sets with their weights, and the validation sets (B.1)."""
    env = settings.env
    masks = env.require("pregenerated_masks")
    ytvos = _maybe_subset(youtubevos(env.require("youtubevos_dir"), "2019", "train"), settings.youtubevos_train_list)
    train_sets = [
        ytvos,
        davis(env.require("davis_dir"), "2017", "train"),
        with_pregenerated_masks(
            _maybe_subset(got10k(env.require("got10k_dir"), "train"), settings.got10k_train_list),
            Path(masks) / "got10k_masks",
        ),
        with_pregenerated_masks(lasot(env.require("lasot_dir")), Path(masks) / "lasot_masks"),
    ]
    val_source = settings.youtubevos_val_list
    val_sets = (
        [_maybe_subset(youtubevos(env.require("youtubevos_dir"), "2019", "train"), val_source)] if val_source else []
    )
    return train_sets, [6, 1, 6, 6], val_sets


def run(settings) -> None:
    settings.defaults(**ABLATION_DEFAULTS)  # thesis Tables 5.1 / 5.9 switches (docs/thesis_vs_release.md)
    settings.defaults(
        description="RTS with ResNet-50 (rts50), as in the release",
        batch_size=15,
        num_workers=8,
        samples_per_epoch=15000,
        val_samples_per_epoch=1500,
        val_epoch_interval=5,
        max_gap=100,
        num_test_frames=3,
        num_refinement_iter=2,
        output_sz=(832, 480),
        search_area_factor=5.0,
        label_sigma_factor=1 / 4 / 5.0,
        max_epochs=200,
        lr_milestones=(25, 115, 160),
        lwl_checkpoint=None,
        youtubevos_train_list=None,
        youtubevos_val_list=None,
        got10k_train_list=None,
        print_interval=1,
        segm_bce_weight=0.0,
        clf_feature_stride=BACKBONE_STRIDE_CLF,
    )
    train_sets, weights, val_sets = datasets(settings)
    net = build_rts50()
    if settings.lwl_checkpoint:
        load_lwl_parts(net, settings.lwl_checkpoint)
    groups = parameter_groups(net, lr_backbone=4e-5, lr_segmentation=8e-5, lr_instance=2e-4)
    train(settings, net, loaders(settings, BGR255, train_sets, weights, val_sets), groups)
