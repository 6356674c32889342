"""What the RTS train settings (``run_training rts rts50`` / ``rts_small``) share.

The processing of docs/rts.md B.2 (crops, jitter, labels of B.4), the sampler of B.1, the parameter
groups of B.6 and the epoch loop; each settings module picks the network, the datasets and the
sizes. The leading underscore keeps this module out of the settings names ``run_training`` lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from ...actors import RTSActor, RTSLossWeights
from ...admin.checkpoint import read_checkpoint
from ...admin.loading import load_parts_strict
from ...data.loader import LTRLoader
from ...data.processing import SegmentationProcessing
from ...data.sampler import SequenceSampler
from ...data.transforms import BrightnessJitter, Compose, RandomAffine, RandomHorizontalFlip, ToGrayscale
from ...trainers import LTRTrainer, worker_init_fn

# The release's jitter (B.2): per-frame scale sigma and centre factor for train/test frames.
SCALE_JITTER = {"train": 0.25, "test": 0.5}
CENTER_JITTER = {"train": 3.0, "test": (5.5, 4.5)}
BACKBONE_STRIDE_CLF = 32


@dataclass
class InputFormat:
    """How images are normalised for a backbone (``bgr255``: BGR 0..255 minus ``mean``)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    bgr255: bool


def processing(settings: Any, fmt: InputFormat, training: bool) -> SegmentationProcessing:
    """B.2/B.4 processing with the crop size ``settings.output_sz`` (w, h)."""
    w, h = settings.output_sz
    if w % BACKBONE_STRIDE_CLF or h % BACKBONE_STRIDE_CLF:
        raise ValueError(f"output_sz {settings.output_sz} must be a multiple of {BACKBONE_STRIDE_CLF} on both axes")
    clf_stride = settings.clf_feature_stride  # pixels per classifier cell
    frame = Compose(RandomAffine(max_rotation=15.0, max_scale=0.2), BrightnessJitter(0.2)) if training else None
    return SegmentationProcessing(
        output_sz=(w, h),
        search_area_factor=settings.search_area_factor,
        center_jitter_factor=CENTER_JITTER,
        scale_jitter_factor=SCALE_JITTER,
        crop_type="inside_major",
        mean=fmt.mean,
        std=fmt.std,
        bgr255=fmt.bgr255,
        joint_transform=Compose(ToGrayscale(0.05), RandomHorizontalFlip(0.5)) if training else None,
        frame_transform=frame,
        label_sigma_factor=settings.label_sigma_factor,
        label_kernel_sz=4,
        label_feature_sz=(w // clf_stride, h // clf_stride),
    )


def _sampler(
    settings: Any, fmt: InputFormat, sets: Sequence, weights: Sequence[float] | None, count: int, training: bool
) -> SequenceSampler:
    """One train frame and ``num_test_frames`` test frames within ``max_gap``, processed for training or not."""
    return SequenceSampler(
        sets,
        weights,
        count,
        max_gap=settings.max_gap,
        num_test_frames=settings.num_test_frames,
        num_train_frames=1,
        processing=processing(settings, fmt, training=training),
    )


def loaders(
    settings: Any,
    fmt: InputFormat,
    train_sets: Sequence,
    train_weights: Sequence[float] | None,
    val_sets: Sequence = (),
) -> list[LTRLoader]:
    """Training loader (and a validation loader every ``val_epoch_interval`` epochs when ``val_sets``)."""
    train = _sampler(settings, fmt, train_sets, train_weights, settings.samples_per_epoch, training=True)
    distributed = dist.is_available() and dist.is_initialized()
    sampler = DistributedSampler(train, shuffle=False, seed=settings.seed) if distributed else None
    out = [
        LTRLoader(
            "train",
            train,
            training=True,
            batch_size=settings.batch_size,
            shuffle=False,
            sampler=sampler,
            num_workers=settings.num_workers,
            stack_dim=1,
            drop_last=True,
            worker_init_fn=worker_init_fn,
            pin_memory=settings.device.type == "cuda",
        )
    ]
    if val_sets:
        val = _sampler(settings, fmt, val_sets, None, settings.val_samples_per_epoch, training=False)
        out.append(
            LTRLoader(
                "val",
                val,
                training=False,
                batch_size=settings.batch_size,
                num_workers=settings.num_workers,
                stack_dim=1,
                epoch_interval=settings.val_epoch_interval,
                worker_init_fn=worker_init_fn,
            )
        )
    return out


def parameter_groups(
    net: torch.nn.Module, lr_backbone: float, lr_segmentation: float, lr_instance: float
) -> list[dict[str, Any]]:
    """B.6: backbone layer2-4, segmentation branch + decoder, instance branch + score encoder.

    The stem and layer1 are left out (frozen), as in the release.
    """
    groups = [
        {"params": list(net.feature_extractor.trainable_parameters()), "lr": lr_backbone},
        {
            "params": [*net.target_model.parameters(), *net.label_encoder.parameters(), *net.decoder.parameters()],
            "lr": lr_segmentation,
        },
        {"params": [*net.clf_encoder.parameters(), *net.classifier.parameters()], "lr": lr_instance},
    ]
    return [g for g in groups if g["params"]]


# Parts of an LWL checkpoint that RTS takes over (B.5); the rest keeps its fresh initialisation.
LWL_PARTS = ("target_model", "label_encoder", "feature_extractor", "decoder")


def load_lwl_parts(net: torch.nn.Module, path: str | Path) -> None:
    """Copy target model F, label encoder, backbone and decoder from an LWL checkpoint, strictly per part."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LWL checkpoint {path} not found (setting lwl_checkpoint)")
    data = read_checkpoint(path)  # official LTR pickles go through the restricted unpickler
    load_parts_strict(net, data.get("net", data), LWL_PARTS, source=str(path))


#: The ablation settings of thesis ch. 5 (Tables 5.1, 5.9), release values by default; a settings
#: module declares them with ``settings.defaults(**ABLATION_DEFAULTS)`` before it reads ``env``.
#: ``instance_conditioning``: False trains Table 5.1's "without conditioning" network;
#: ``clf_loss_eta``: eq. 5.5's eta (10 = the release's weights, F.7); ``clf_loss_average_iterates``:
#: True divides the iterates' classifier losses by N_iter as eq. 5.4 writes (the release sums them).
ABLATION_DEFAULTS: dict[str, Any] = dict(instance_conditioning=True, clf_loss_eta=10.0, clf_loss_average_iterates=False)


def loss_weights(settings: Any, net: torch.nn.Module) -> RTSLossWeights:
    """The loss weights of ``settings`` (the release's unless ``clf_loss_eta`` or
    ``clf_loss_average_iterates`` say otherwise) for the classifier iterates of ``net``."""
    values = {key: getattr(settings, key, default) for key, default in ABLATION_DEFAULTS.items()}
    return RTSLossWeights.from_eta(
        float(values["clf_loss_eta"]),
        net.clf_optim_iter + 1,  # the initial filter and every steepest-descent step
        bool(values["clf_loss_average_iterates"]),
        segm_bce=settings.segm_bce_weight,
    )


def train(settings: Any, net: torch.nn.Module, train_loaders: list[LTRLoader], groups: list[dict[str, Any]]) -> None:
    """Adam over ``groups``, MultiStepLR at ``settings.lr_milestones`` (gamma 0.2), the epoch loop;
    the network takes ``instance_conditioning`` (recorded in its checkpoints) and the loss ``loss_weights``."""
    conditioning = bool(getattr(settings, "instance_conditioning", True))
    if conditioning != net.instance_conditioning:  # the release's records stay as they were
        net.set_instance_conditioning(conditioning)
    weights = loss_weights(settings, net)
    actor = RTSActor(net, loss_weight=weights, num_refinement_iter=settings.num_refinement_iter)
    optimizer = torch.optim.Adam(groups)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(settings.lr_milestones), gamma=0.2)
    LTRTrainer(actor, train_loaders, optimizer, settings, scheduler).train(settings.max_epochs)
