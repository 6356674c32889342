"""EVS training actors (thesis ch. 3; docs/evs.md §6.2-6.3, §7): ICNet and the Refiner.

Both take ``frames`` as ``B x L x 3 x H x W`` RGB in [0, 1] (oldest first; the label is the last
frame's) and feed the networks what inference feeds them: BGR, 0..255, ICNet's mean subtracted
(:func:`icnet_input`, the same as the pipeline's ``_network_input``).

The objective is ICNet's cascade label guidance: cross-entropy of the 1/16, 1/8 and 1/4 outputs
against the label downscaled by nearest neighbour, weighted 0.16 / 0.4 / 1.0 (§6.2), with
optional per-class weights (:func:`weighted_cascade`; without class weights it equals
``segmentation_plugins.evs.models.cascade_loss``).

:class:`RefinerActor` holds a frozen, trained ICNet next to the Refiner (``actor.net``, the only
network the trainer optimises and checkpoints). Per batch: ICNet (eval mode, no gradient) gives
the key frame's low-level features F, probabilities P and labels L; the data loader's DIS flows
(already resized to the feature and propagation grids) warp them frame by frame to the last
frame with the inference code (:class:`~segmentation_plugins.evs.warp.Warper`, cv2 on the CPU);
the Refiner runs on the last frame with the warped F (and P when built with ``uses_pwarped``).
The loss is the cascade loss of the Refiner's outputs (§7.5). Also monitored, not trained: the
accuracy of the warped labels alone (W-only output) and of the IAM blend (eq. 3.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_ext.actors import BaseActor

from ..iam import InconsistencyAttention, forward_backward_labels
from ..models import IMAGE_MEAN_BGR
from ..models.blocks import resize
from ..pipeline import settings_class
from ..warp import Warper

IGNORE_INDEX = 255
SCALE_NAMES = ("1_16", "1_8", "1_4")  # stats keys of the cascade outputs, coarsest first


def icnet_input(frames: torch.Tensor) -> torch.Tensor:
    """``N x 3 x H x W`` RGB in [0, 1] → ICNet's input: BGR, 0..255, ``IMAGE_MEAN_BGR`` subtracted."""
    mean = torch.tensor(IMAGE_MEAN_BGR, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1)
    # frames come from uint8 / 255, so * 255 restores the integer values exactly
    return frames.flip(1) * 255.0 - mean


def resize_labels(target: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Class ids ``N x H x W`` resized to ``size`` by nearest neighbour (as ``cascade_loss`` downscales them)."""
    if tuple(target.shape[-2:]) == tuple(size):
        return target
    return F.interpolate(target[:, None].float(), size=size, mode="nearest")[:, 0].long()


def weighted_cascade(
    output: Any,
    target: torch.Tensor,
    weights: Sequence[float],
    class_weights: torch.Tensor | None = None,
    ignore_index: int = IGNORE_INDEX,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``(sum_s w_s * CE_s, [CE_s])`` over the outputs ``(*output.aux, output.logits)``, coarsest first.

    ``weights`` are the 1/16, 1/8, 1/4 weights; with fewer outputs (no aux) the last ones are used.
    """
    logits = (*output.aux, output.logits)
    used = tuple(weights)[len(weights) - len(logits) :]
    terms = [
        F.cross_entropy(
            pred, resize_labels(target, tuple(pred.shape[-2:])), weight=class_weights, ignore_index=ignore_index
        )
        for pred in logits
    ]
    total = sum((w * term for w, term in zip(used, terms)), output.logits.new_zeros(()))
    return total, terms


def pixel_accuracy(labels: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> float:
    """Fraction of the labelled pixels of ``target`` whose predicted class in ``labels`` is right."""
    valid = target != ignore_index
    return float(((labels == target) & valid).sum()) / max(int(valid.sum()), 1)


def logits_accuracy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> float:
    """Pixel accuracy of logits at any resolution, upsampled bilinearly to the label's."""
    if logits.shape[-2:] != target.shape[-2:]:
        logits = F.interpolate(logits, size=tuple(target.shape[-2:]), mode="bilinear", align_corners=False)
    return pixel_accuracy(logits.argmax(1), target, ignore_index)


def labels_accuracy(labels: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> float:
    """Pixel accuracy of label maps at the propagation grid, upsampled by nearest neighbour."""
    return pixel_accuracy(resize_labels(labels.long(), tuple(target.shape[-2:])), target, ignore_index)


class _CascadeObjective(nn.Module):
    """Cascade weights and class weights in one module, so ``actor.to(device)`` moves the weights."""

    def __init__(self, weights: Sequence[float], class_weights: torch.Tensor | None, ignore_index: int) -> None:
        super().__init__()
        if len(weights) != 3:
            raise ValueError(f"cascade weights must be 3 values (1/16, 1/8, 1/4), got {tuple(weights)}")
        self.weights = tuple(float(w) for w in weights)
        self.ignore_index = ignore_index
        self.register_buffer("class_weights", None if class_weights is None else class_weights.float().clone())

    def forward(self, output: Any, target: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return weighted_cascade(output, target, self.weights, self.class_weights, self.ignore_index)


def _loss_stats(loss: torch.Tensor, terms: list[torch.Tensor]) -> dict[str, float]:
    stats = {"Loss/total": float(loss.detach())}
    for name, term in zip(SCALE_NAMES[len(SCALE_NAMES) - len(terms) :], terms):
        stats[f"Loss/{name}"] = float(term.detach())
    return stats


class ICNetActor(BaseActor):
    """ICNet on the last frame of each clip, trained with the (class-weighted) cascade loss."""

    def __init__(
        self,
        net: nn.Module,
        class_weights: torch.Tensor | None = None,
        cascade_weights: Sequence[float] = (0.16, 0.4, 1.0),
        ignore_index: int = IGNORE_INDEX,
    ) -> None:
        super().__init__(net, _CascadeObjective(cascade_weights, class_weights, ignore_index))
        self.ignore_index = ignore_index

    def __call__(self, data: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        frames = data["frames"]
        image = frames[:, -1] if frames.ndim == 5 else frames
        label = data["label"].long()
        # aux outputs in validation too, so validation losses compare with training ones
        output = self.net(icnet_input(image), with_aux=True)
        loss, terms = self.objective(output, label)
        stats = _loss_stats(loss, terms)
        stats["Stats/pixel_acc"] = logits_accuracy(output.logits.detach(), label, self.ignore_index)
        return loss, stats


#: How the key frame's F, P and L travel to the last frame in training: the pipeline's warp and IAM
#: settings (declared once, in ``PipelineConfig``), plus whether to log the IAM's share.
PropagationSettings = settings_class(
    "PropagationSettings",
    ("warp", "iam"),
    {"monitor_iam": (bool, True)},
    module=__name__,
    doc="How the key frame's F, P and L travel to the last frame: the pipeline's warp and IAM settings.",
)


class RefinerActor(BaseActor):
    """Trains the Refiner (``net``) on features that a frozen ICNet computed on an earlier frame.

    The batch holds ``frames`` ``B x L x 3 x H x W`` (L >= 2; frame 0 is the key frame), ``label``
    (last frame), ``flow_p`` ``B x (L-1) x h4 x w4 x 2`` and ``flow_f`` ``B x (L-1) x h16 x w16 x 2``:
    the forward flow of each consecutive pair resized to the propagation and the feature grid.
    ``crop`` = (width, height), multiples of 16, takes a random window of the last frame, its
    label and the warped tensors *after* warping (training only; §7.7) before the Refiner runs.
    """

    def __init__(
        self,
        net: nn.Module,
        icnet: nn.Module,
        class_weights: torch.Tensor | None = None,
        cascade_weights: Sequence[float] = (0.16, 0.4, 1.0),
        ignore_index: int = IGNORE_INDEX,
        propagation: PropagationSettings | None = None,
        crop: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(net, _CascadeObjective(cascade_weights, class_weights, ignore_index))
        self.icnet = icnet.eval()
        for parameter in self.icnet.parameters():
            parameter.requires_grad_(False)
        self.ignore_index = ignore_index
        self.propagation = propagation or PropagationSettings()
        p = self.propagation
        self.iam = InconsistencyAttention(p.iam_dilation, p.iam_smoothing, p.iam_smoothing_mode, IGNORE_INDEX)
        if crop is not None and (len(crop) != 2 or any(int(v) < 16 or int(v) % 16 for v in crop)):
            raise ValueError(f"Refiner crop must be (width, height), multiples of 16, got {crop}")
        self.crop = None if crop is None else (int(crop[0]), int(crop[1]))

    def to(self, device: torch.device) -> None:
        super().to(device)
        self.icnet.to(device)

    def train(self, mode: bool = True) -> None:
        self.net.train(mode)
        self.icnet.eval()  # BN statistics of the trained key-frame network stay fixed

    # ----- steps -------------------------------------------------------------------------------
    def key_frame(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ICNet on the first frame: F (N x C x h16 x w16), P (N x K x h4 x w4) and L (N x h4 x w4 uint8)."""
        height, width = frames.shape[-2:]
        stride = self.propagation.propagation_stride
        with torch.no_grad():
            out = self.icnet(icnet_input(frames[:, 0]), with_aux=False)
            probs = resize(out.logits, (-(-height // stride), -(-width // stride))).softmax(1)
        return out.features, probs, probs.argmax(1).to(torch.uint8)

    def propagate(
        self,
        features: torch.Tensor,
        probs: torch.Tensor,
        labels: torch.Tensor,
        flow_f: torch.Tensor,
        flow_p: torch.Tensor,
    ) -> dict[str, Any]:
        """Warp F, P and L of each sample through its flows with the inference warps (cv2, CPU).

        Returns ``features``, ``probs`` (on the input's device), ``labels`` (W-only output, uint8
        tensor) and, for the IAM, ``l_f``/``l_bf`` (numpy, one per sample) of the last step.
        """
        p = self.propagation
        warped_f, warped_p, warped_l, l_fs, l_bfs = [], [], [], [], []
        flow_f, flow_p = flow_f.cpu().numpy(), flow_p.cpu().numpy()
        for b in range(features.shape[0]):
            f, prob, lab = features[b], probs[b], labels[b].cpu().numpy()
            steps = flow_p.shape[1]
            for k in range(steps):
                # the flows are already on each grid, so the Warpers do no resize of their own
                on_features, on_probs = Warper(flow_f[b, k]), Warper(flow_p[b, k])
                if k == steps - 1 and p.monitor_iam:
                    l_f, l_bf = forward_backward_labels(lab, on_probs, IGNORE_INDEX)
                    l_fs.append(l_f)
                    l_bfs.append(l_bf)
                f = on_features.tensor(f, interpolation=p.warp_interpolation, border=p.feature_border)
                prob = on_probs.tensor(prob, interpolation=p.warp_interpolation, border=p.probability_border)
                lab = on_probs.labels(lab, border=p.label_border, ignore_value=IGNORE_INDEX)
            warped_f.append(f.contiguous())
            warped_p.append(prob.contiguous())
            warped_l.append(torch.from_numpy(lab))
        return {
            "features": torch.stack(warped_f),
            "probs": torch.stack(warped_p),
            "labels": torch.stack(warped_l).to(labels.device),
            "l_f": l_fs,
            "l_bf": l_bfs,
        }

    def crop_window(self, height: int, width: int) -> tuple[int, int, int, int] | None:
        """A random (x0, y0, w, h) on the 16-pixel grid of the feature map, or None (no crop/eval)."""
        if self.crop is None or not self.net.training:
            return None
        w, h = min(self.crop[0], width // 16 * 16), min(self.crop[1], height // 16 * 16)
        x0 = 16 * int(torch.randint(0, (width - w) // 16 + 1, ()))
        y0 = 16 * int(torch.randint(0, (height - h) // 16 + 1, ()))
        return x0, y0, w, h

    def __call__(self, data: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        frames, label = data["frames"], data["label"].long()
        if frames.ndim != 5 or frames.shape[1] < 2:
            raise ValueError(f"RefinerActor needs clips of >= 2 frames (B x L x 3 x H x W), got {tuple(frames.shape)}")
        features, probs, labels = self.key_frame(frames)
        warped = self.propagate(features, probs, labels, data["flow_f"], data["flow_p"])
        image, f, p_warped, l_warped = frames[:, -1], warped["features"], warped["probs"], warped["labels"]
        l_f, l_bf = warped["l_f"], warped["l_bf"]
        window = self.crop_window(*image.shape[-2:])
        if window is not None:
            x0, y0, w, h = window
            s = self.propagation.propagation_stride
            image, label = image[..., y0 : y0 + h, x0 : x0 + w], label[..., y0 : y0 + h, x0 : x0 + w]
            f = f[..., y0 // 16 : (y0 + h) // 16, x0 // 16 : (x0 + w) // 16]
            grid = (slice(y0 // s, -(-(y0 + h) // s)), slice(x0 // s, -(-(x0 + w) // s)))
            p_warped, l_warped = p_warped[(..., *grid)], l_warped[(..., *grid)]
            l_f, l_bf = [m[grid] for m in l_f], [m[grid] for m in l_bf]
        inner = getattr(self.net, "module", self.net)
        extra = p_warped if getattr(inner, "uses_pwarped", False) else None
        output = self.net(icnet_input(image), f, extra, with_aux=True)
        loss, terms = self.objective(output, label)
        stats = _loss_stats(loss, terms)
        logits = output.logits.detach()
        stats["Stats/pixel_acc"] = logits_accuracy(logits, label, self.ignore_index)
        stats["Stats/warped_acc"] = labels_accuracy(l_warped, label, self.ignore_index)
        if l_f:
            stats.update(self._iam_stats(logits, p_warped, l_f, l_bf, label))
        return loss, stats

    def _iam_stats(
        self,
        logits: torch.Tensor,
        p_warped: torch.Tensor,
        l_f: list[np.ndarray],
        l_bf: list[np.ndarray],
        label: torch.Tensor,
    ) -> dict[str, float]:
        """Accuracy of the IAM blend (eq. 3.4) of the Refiner's and the warped probabilities."""
        p_refiner = resize(logits, tuple(p_warped.shape[-2:])).softmax(1)
        results = [self.iam(a, b, p_refiner[i : i + 1], p_warped[i : i + 1]) for i, (a, b) in enumerate(zip(l_f, l_bf))]
        refined = torch.stack([torch.from_numpy(r.labels) for r in results]).to(label.device)
        return {
            "Stats/refined_acc": labels_accuracy(refined, label, self.ignore_index),
            "Stats/inconsistent": float(np.mean([r.inconsistent_fraction for r in results])),
        }
