"""The RTS actor (docs/rts.md B.7, B.8): sequence training of both learners, Lovász + hinge losses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..models.loss.lovasz import lovasz_softmax_binary
from ..models.loss.target_classification import lbhinge
from .base_actor import BaseActor


@dataclass
class RTSLossWeights:
    """Weights of the RTS loss; the defaults are the release's (F.7: eta = 10 per classifier iterate).

    ``test_iter_clf`` is shared by the intermediate iterates (each gets ``test_iter_clf / (n - 2)``).
    ``segm_bce`` adds binary cross-entropy on the mask logits (not in the release, 0 there): the
    Lovász loss alone barely moves a decoder trained from scratch (its errors all start near 0.5),
    so the small CPU variant, which has no LWL decoder to start from, uses it.
    """

    segm: float = 10.0
    segm_bce: float = 0.0
    test_clf: float = 100.0
    test_init_clf: float = 100.0
    test_iter_clf: float = 400.0

    @classmethod
    def from_eta(
        cls, eta: float, iterates: int, average_iterates: bool = False, segm: float = 10.0, segm_bce: float = 0.0
    ) -> RTSLossWeights:
        """Weights for eq. 5.5's classifier-loss weight ``eta`` (thesis Table 5.9) over ``iterates``
        classifier iterates (initial filter included).

        The segmentation term keeps the release's scale ``segm`` and each iterate gets ``segm * eta``,
        so ``eta=10`` gives the release's 100 per iterate (docs/rts.md F.7). ``average_iterates``
        reads eq. 5.4 literally: the iterates' sum divided by N_iter = ``iterates - 1``.
        """
        if eta < 0:
            raise ValueError(f"the classifier-loss weight eta must be >= 0, got {eta}")
        if iterates < 2:
            raise ValueError(f"the classifier loss needs at least 2 iterates (initial + final), got {iterates}")
        per_iterate = segm * eta / ((iterates - 1) if average_iterates else 1)
        return cls(
            segm=segm,
            segm_bce=segm_bce,
            test_clf=per_iterate,
            test_init_clf=per_iterate,
            test_iter_clf=per_iterate * (iterates - 2),
        )


def _peak(maps: torch.Tensor) -> torch.Tensor:
    """Row, column of the maximum of every ``(..., h, w)`` map, as floats ``(..., 2)``."""
    flat = maps.flatten(-2).argmax(-1)
    return torch.stack([flat // maps.shape[-1], flat % maps.shape[-1]], dim=-1).float()


def classifier_peak_stats(
    scores: torch.Tensor, label: torch.Tensor, boxes: torch.Tensor, image_size, tolerance: float = 0.25
) -> tuple[float, float]:
    """Mean peak distance (score-map cells) and the share of peaks within ``tolerance`` x target size.

    The target size is ``sqrt(w * h)`` of the box, in score-map cells.
    """
    distance = (_peak(scores) - _peak(label)).norm(dim=-1)
    cell = torch.tensor([image_size[0] / label.shape[-2], image_size[1] / label.shape[-1]], device=boxes.device)
    size = torch.sqrt((boxes[..., 2] / cell[1]) * (boxes[..., 3] / cell[0])).clamp(min=1.0)
    return float(distance.mean()), float((distance <= tolerance * size).float().mean())


def mask_iou(logits: torch.Tensor, masks: torch.Tensor, threshold: float = 0.5) -> float:
    """Mean IoU of ``sigmoid(logits) > threshold`` against the masks, per frame (empty vs empty = 1)."""
    pred = torch.sigmoid(logits) > threshold
    gt = masks > 0.5
    inter = (pred & gt).flatten(-2).sum(-1).float()
    union = (pred | gt).flatten(-2).sum(-1).float()
    return float(torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union)).mean())


class RTSActor(BaseActor):
    """``actor(data) -> (loss, stats)`` for :class:`~ltr_ext.models.rts.RTSNet`.

    ``data`` holds frames-first tensors from :class:`~ltr_ext.data.processing.SegmentationProcessing`
    (``train_images``, ``train_masks``, ``train_anno``, ``train_label``, ``test_images``,
    ``test_masks``, ``test_anno``, ``test_label``). With ``disable_all_bn`` (the release's choice)
    the network stays in eval mode while training, so every BatchNorm uses its running statistics.
    """

    def __init__(
        self,
        net,
        objective: dict[str, Any] | None = None,
        loss_weight: RTSLossWeights | None = None,
        num_refinement_iter: int = 2,
        disable_all_bn: bool = True,
    ) -> None:
        objective = objective or {"segm": lovasz_softmax_binary, "test_clf": lbhinge}
        super().__init__(net, objective)
        self.loss_weight = loss_weight or RTSLossWeights()
        self.num_refinement_iter = num_refinement_iter
        self.disable_all_bn = disable_all_bn

    def train(self, mode: bool = True) -> None:
        self.net.train(mode and not self.disable_all_bn)

    def __call__(self, data: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        segm_pred, clf_scores = self.net(
            data["train_images"],
            data["test_images"],
            data["train_masks"],
            data["test_masks"],
            data["train_anno"],
            data["train_label"],
            data.get("test_label"),
            num_refinement_iter=self.num_refinement_iter,
        )
        masks = data["test_masks"]
        probabilities = torch.sigmoid(segm_pred)
        # one set of pixels over every test frame of the batch (per_image=False, F.7)
        loss_segm = self.objective["segm"](probabilities.flatten(0, 1), masks.flatten(0, 1), per_image=False)
        clf_losses = [self.objective["test_clf"](scores, data["test_label"]) for scores in clf_scores]
        w = self.loss_weight
        loss_init = w.test_init_clf * clf_losses[0]
        loss_final = w.test_clf * clf_losses[-1]
        middle = clf_losses[1:-1]
        loss_iter = w.test_iter_clf / len(middle) * sum(middle) if middle else segm_pred.new_zeros(())
        loss = w.segm * loss_segm + loss_init + loss_iter + loss_final
        terms = {}
        if w.segm_bce:
            loss_bce = F.binary_cross_entropy_with_logits(segm_pred, masks)
            loss = loss + w.segm_bce * loss_bce
            terms["Loss/segm_bce"] = loss_bce
        terms.update(
            {
                "Loss/segm": loss_segm,
                "Loss/clf_init": loss_init,
                "Loss/clf_iter": loss_iter,
                "Loss/clf_final": loss_final,
                "Loss/total": loss,
            }
        )
        distance, peak_acc = classifier_peak_stats(
            clf_scores[-1].detach(), data["test_label"], data["test_anno"], segm_pred.shape[-2:]
        )
        stats = {name: float(value.detach()) for name, value in terms.items()}
        stats.update(
            {
                "Stats/IoU": mask_iou(segm_pred.detach(), masks),
                "Stats/clf_peak_acc": peak_acc,
                "Stats/clf_peak_dist": distance,
            }
        )
        return loss, stats
