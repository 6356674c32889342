"""Inconsistencies Attention Module (thesis §3.3.4, eqs. 3.3-3.4; docs/evs.md §3).

1. L_F = L_{t-1} warped forward; L_BF = L_F warped backward then forward again (warp.py).
2. Eq. 3.3: M_i = 1 where L_F ≠ L_BF. Pixels sampled from outside the frame (ignore value in
   L_F or L_BF) count as inconsistent too, so the Refiner fills them ([D], §9 #5).
3. M_i is dilated (max-pool) and smoothed (box = average pool without the padding, or a
   Gaussian), so that the Refiner also acts around the inconsistencies. Kernel sizes are not in
   the thesis; 7×7 and 7×7 at 512×256 ([D], §9 #4). Pixels flagged in step 2 stay at 1 whatever
   the kernel sizes (with equal odd sizes the smoothing already guarantees it).
4. Eq. 3.4: P_refined = M_i ∘ P_refiner + (1 − M_i) ∘ P_warped; L_t = argmax P_refined.

Steps 1-2 run on the CPU with the label maps (numpy uint8); steps 3-4 on the device of P_warped
(torch; the mask with OpenCV when that is the CPU), at the propagation resolution (512×256 for
2048×1024 frames; the thesis runs them on the GPU). The fraction of
inconsistent pixels (step 2, before dilation; thesis Fig. 3.7) is returned as well for an
adaptive key-frame schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from pytracking_ext.registry import Registry

from .errors import EVSConfigError, EVSInputError
from .warp import IGNORE_LABEL, Warper


def forward_backward_labels(
    labels_prev: np.ndarray, warper: Warper, ignore_value: int = IGNORE_LABEL
) -> tuple[np.ndarray, np.ndarray]:
    """(L_F, L_BF) for eq. 3.3 from the previous labels and the frame pair's flow (constant border)."""
    l_f = warper.labels(labels_prev, ignore_value=ignore_value)
    l_b = warper.labels(l_f, backward=True, ignore_value=ignore_value)
    return l_f, warper.labels(l_b, ignore_value=ignore_value)


def inconsistency_map(l_f: np.ndarray, l_bf: np.ndarray, ignore_value: int | None = IGNORE_LABEL) -> np.ndarray:
    """Eq. 3.3 as a bool H×W map; ``ignore_value`` pixels of L_F count as inconsistent (None: not)."""
    if l_f.shape != l_bf.shape:
        raise EVSInputError(f"L_F and L_BF differ in shape: {l_f.shape} vs {l_bf.shape}")
    mask = l_f != l_bf
    if ignore_value is not None:
        mask |= l_f == ignore_value  # L_BF == ignore with L_F valid is already a difference
    return mask


def inconsistent_fraction(mask: np.ndarray | torch.Tensor) -> float:
    """Fraction of inconsistent pixels of an eq. 3.3 map (thesis Fig. 3.7 statistic)."""
    return float(mask.float().mean()) if isinstance(mask, torch.Tensor) else float(np.mean(mask))


def _check_kernel(name: str, size: int) -> int:
    if size < 1 or size % 2 == 0:
        raise EVSConfigError(f"IAM {name} kernel must be an odd size >= 1 (1 = off), got {size}")
    return size


def _gaussian_sigma(size: int) -> float:
    return 0.3 * ((size - 1) * 0.5 - 1) + 0.8  # OpenCV's default sigma for this kernel size


class _Box:
    """Mean over the window's pixels inside the frame: a frame border does not look half-consistent."""

    @staticmethod
    def torch(x: torch.Tensor, size: int) -> torch.Tensor:
        return F.avg_pool2d(x, size, stride=1, padding=size // 2, count_include_pad=False)

    @staticmethod
    def cv2(x: np.ndarray, size: int) -> np.ndarray:
        r = size // 2
        sums = cv2.boxFilter(x, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
        counts = [np.minimum(np.arange(n) + r, n - 1) - np.maximum(np.arange(n) - r, 0) + 1 for n in x.shape]
        return sums / np.outer(counts[0], counts[1]).astype(np.float32)


class _Gaussian:
    """Separable Gaussian with the edge pixels repeated outside the frame."""

    @staticmethod
    def torch(x: torch.Tensor, size: int) -> torch.Tensor:
        sigma, r = _gaussian_sigma(size), size // 2
        k = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype, device=x.device) ** 2) / (2 * sigma**2))
        k = k / k.sum()
        x = F.pad(x, (r, r, r, r), mode="replicate")
        return F.conv2d(F.conv2d(x, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))

    @staticmethod
    def cv2(x: np.ndarray, size: int) -> np.ndarray:
        # an explicit sigma: with sigma <= 0 OpenCV uses rounded fixed kernels for sizes <= 7
        return cv2.GaussianBlur(x, (size, size), _gaussian_sigma(size), borderType=cv2.BORDER_REPLICATE)


SMOOTHING = Registry("IAM smoothing")
SMOOTHING.add_all({"box": _Box, "gaussian": _Gaussian})


def _soften_cv2(hard: np.ndarray, dilation: int, smoothing: int, mode: str) -> np.ndarray:
    x = hard
    if dilation > 1:  # cv2's default dilate border ignores outside pixels, as max-pool padding does
        x = cv2.dilate(x, np.ones((dilation, dilation), np.uint8))
    if smoothing > 1:
        x = SMOOTHING.get(mode).cv2(x, smoothing)
    return np.clip(np.maximum(x, hard), 0.0, 1.0)


def _soften_torch(hard: torch.Tensor, dilation: int, smoothing: int, mode: str) -> torch.Tensor:
    x = hard[None, None]
    if dilation > 1:
        x = F.max_pool2d(x, dilation, stride=1, padding=dilation // 2)
    if smoothing > 1:
        x = SMOOTHING.get(mode).torch(x, smoothing)
    return torch.maximum(x[0, 0], hard).clamp_(0.0, 1.0)


def soften_mask(
    mask: np.ndarray | torch.Tensor,
    dilation: int = 7,
    smoothing: int = 7,
    mode: str = "box",
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Dilate (``dilation``×``dilation`` max-pool) then smooth (``mode``) a binary H×W mask → float in [0, 1].

    Runs in torch on ``device`` (default: the mask's) and with OpenCV when that is the CPU
    (30-50x faster there than torch's pooling; both give the same values).
    """
    SMOOTHING.get(mode)
    _check_kernel("dilation", dilation)
    _check_kernel("smoothing", smoothing)
    if mask.ndim != 2:
        raise EVSInputError(f"IAM mask must be H×W, got {tuple(mask.shape)}")
    if device is None:
        device = mask.device if isinstance(mask, torch.Tensor) else "cpu"
    if torch.device(device).type == "cpu":
        hard = mask.cpu().numpy() if isinstance(mask, torch.Tensor) else np.asarray(mask)
        return torch.from_numpy(_soften_cv2(hard.astype(np.float32), dilation, smoothing, mode))
    return _soften_torch(torch.as_tensor(mask, device=device).to(torch.float32), dilation, smoothing, mode)


def blend(soft_mask: torch.Tensor, p_refiner: torch.Tensor, p_warped: torch.Tensor) -> torch.Tensor:
    """Eq. 3.4: M ∘ P_refiner + (1 − M) ∘ P_warped, M (H×W) broadcast over classes.

    ``p_refiner`` is resized bilinearly to P_warped's resolution when it differs (D = 0.5);
    probabilities are C×H×W or N×C×H×W; the result has P_warped's shape.
    """
    if p_warped.shape[-2:] != soft_mask.shape:
        raise EVSInputError(f"P_warped {tuple(p_warped.shape)} and the mask {tuple(soft_mask.shape)} differ in size")
    if p_refiner.shape[-2:] != p_warped.shape[-2:]:
        batched = p_refiner if p_refiner.ndim == 4 else p_refiner[None]
        resized = F.interpolate(batched, size=tuple(p_warped.shape[-2:]), mode="bilinear", align_corners=False)
        p_refiner = resized if p_refiner.ndim == 4 else resized[0]
    if p_refiner.shape != p_warped.shape:
        raise EVSInputError(f"P_refiner {tuple(p_refiner.shape)} does not match P_warped {tuple(p_warped.shape)}")
    m = soft_mask.to(device=p_warped.device, dtype=p_warped.dtype)
    p_refiner = p_refiner.to(device=p_warped.device, dtype=p_warped.dtype)
    if p_refiner.stride() != p_warped.stride():
        # one layout for both (warped tensors keep cv2's H×W×C memory): mixed layouts are ~5x slower
        p_refiner = torch.empty_like(p_warped).copy_(p_refiner)
    return torch.lerp(p_warped, p_refiner, m)  # = M ∘ P_refiner + (1 − M) ∘ P_warped


@dataclass
class IAMResult:
    """``probabilities``: P_refined (P_warped's shape); ``labels``: argmax, H×W uint8 numpy;
    ``mask``: the soft M_i (H×W, torch); ``inconsistent_fraction``: eq. 3.3 before dilation."""

    probabilities: torch.Tensor
    labels: np.ndarray
    mask: torch.Tensor
    inconsistent_fraction: float


class InconsistencyAttention:
    """The IAM with its settings; call it with (L_F, L_BF, P_refiner, P_warped)."""

    def __init__(
        self, dilation: int = 7, smoothing: int = 7, smoothing_mode: str = "box", ignore_value: int = IGNORE_LABEL
    ) -> None:
        SMOOTHING.get(smoothing_mode)  # fail at construction, not on the first frame
        self.dilation = _check_kernel("dilation", dilation)
        self.smoothing = _check_kernel("smoothing", smoothing)
        self.smoothing_mode = smoothing_mode
        self.ignore_value = ignore_value

    def check(self, labels_prev: np.ndarray, warper: Warper) -> tuple[np.ndarray, np.ndarray]:
        """(L_F, L_BF) of the previous labels (see :func:`forward_backward_labels`)."""
        return forward_backward_labels(labels_prev, warper, self.ignore_value)

    def __call__(self, l_f: np.ndarray, l_bf: np.ndarray, p_refiner: torch.Tensor, p_warped: torch.Tensor) -> IAMResult:
        if p_warped.ndim == 4 and p_warped.shape[0] != 1:
            raise EVSInputError(f"the IAM handles one frame, got P_warped {tuple(p_warped.shape)}")
        hard = inconsistency_map(l_f, l_bf, self.ignore_value)
        soft = soften_mask(hard, self.dilation, self.smoothing, self.smoothing_mode, device=p_warped.device)
        refined = blend(soft, p_refiner, p_warped)
        labels = refined.argmax(-3)
        labels = (labels[0] if labels.ndim == 3 else labels).to("cpu", torch.uint8).numpy()
        return IAMResult(refined, labels, soft, inconsistent_fraction(hard))
