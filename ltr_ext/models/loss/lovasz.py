"""Lovász extension of the Jaccard loss for binary segmentation (Berman et al., CVPR 2018).

The Jaccard (IoU) loss is a submodular set function of the mispredicted pixels; its Lovász extension
is a convex, piecewise-linear surrogate that can be optimised with gradients. Evaluating it only needs
the pixel errors sorted in decreasing order, which is why every loss below sorts first.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["jaccard_loss_gradient", "lovasz_hinge", "lovasz_softmax_binary"]


def jaccard_loss_gradient(gt_sorted: Tensor) -> Tensor:
    """Gradient of the Lovász-extended Jaccard loss for 1-D 0/1 labels sorted by decreasing error.

    Entry ``i`` is the increase of the Jaccard loss when pixel ``i`` joins the set of the ``i``
    largest-error pixels, so the entries sum to the loss of mispredicting every pixel.
    """
    gt = gt_sorted if gt_sorted.is_floating_point() else gt_sorted.float()
    positives = gt.sum()
    intersection = positives - gt.cumsum(0)
    # Never zero on a non-empty input: the first pixel is a positive (positives >= 1) or a negative
    # (cumsum >= 1), so an image without foreground still gets a defined gradient.
    union = positives + (1.0 - gt).cumsum(0)
    jaccard = 1.0 - intersection / union
    if jaccard.numel() > 1:
        # Out-of-place difference: an in-place `jaccard[1:] -= jaccard[:-1]` reads overlapping memory.
        jaccard = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
    return jaccard


def _valid_pixels(values: Tensor, labels: Tensor, ignore: int | None) -> tuple[Tensor, Tensor]:
    """Flatten to 1-D, drop ``ignore`` pixels and give the labels the dtype of the values."""
    values, labels = values.reshape(-1), labels.reshape(-1)
    if ignore is not None:
        keep = labels != ignore
        values, labels = values[keep], labels[keep]
    return values, labels.to(values.dtype)


def _hinge_flat(logits: Tensor, labels: Tensor) -> Tensor:
    if logits.numel() == 0:
        # Keep the graph connected so that backward() on an all-ignored batch still works.
        return logits.sum() * 0.0
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, order = torch.sort(errors, descending=True)
    return torch.dot(F.relu(errors_sorted), jaccard_loss_gradient(labels[order]))


def _softmax_binary_flat(probabilities: Tensor, labels: Tensor) -> Tensor:
    if probabilities.numel() == 0:
        return probabilities.sum() * 0.0
    errors = (labels - probabilities).abs()
    errors_sorted, order = torch.sort(errors, descending=True)
    return torch.dot(errors_sorted, jaccard_loss_gradient(labels[order]))


def _over_batch(flat_loss, values: Tensor, labels: Tensor, per_image: bool, ignore: int | None) -> Tensor:
    """``flat_loss`` on the whole batch as one set of pixels, or averaged over the images."""
    if not per_image:
        return flat_loss(*_valid_pixels(values, labels, ignore))
    if values.shape[0] == 0:
        return values.sum() * 0.0
    return torch.stack([flat_loss(*_valid_pixels(v, lb, ignore)) for v, lb in zip(values, labels)]).mean()


def lovasz_hinge(logits: Tensor, labels: Tensor, per_image: bool = True, ignore: int | None = None) -> Tensor:
    """Binary Lovász hinge loss.

    ``logits`` and ``labels`` (0/1, or ``ignore``) have shape (B, H, W). ``per_image`` averages the
    loss of every image (an image whose pixels are all ignored counts as 0); otherwise the whole batch
    is one set of pixels.
    """
    return _over_batch(_hinge_flat, logits, labels, per_image, ignore)


def lovasz_softmax_binary(
    probabilities: Tensor, labels: Tensor, per_image: bool = False, ignore: int | None = None
) -> Tensor:
    """Lovász-Softmax with one foreground class on sigmoid ``probabilities`` of shape (B, H, W).

    The errors are ``|labels - probabilities|``. Unlike the multi-class version, a batch without any
    foreground pixel is not skipped: its loss is the largest error (Jaccard loss 1 for any mistake).
    ``per_image`` averages the per-image losses; by default the whole batch is one set of pixels.
    """
    return _over_batch(_softmax_binary_flat, probabilities, labels, per_image, ignore)
