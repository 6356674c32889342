"""Convolutions with few output channels as one matrix product plus shifted sums (CPU inference).

The instance branch's filter has a single output channel: oneDNN's direct convolution then runs at
a few GFLOP/s, bound by re-reading the 512-channel features once per tap. Here the features, seen
as an ``(N*H*W, C)`` matrix (free for NHWC tensors), are multiplied once by the ``(C, K*k*k)``
filter matrix, and the ``k*k`` tap planes of the small product are summed at their offsets. The
weight gradient is the transposed product: the output gradient is scattered to the ``k*k`` input
offsets, then one ``(C, N*H*W) x (N*H*W, K*k*k)`` product. Same sums as the convolution, in
another order (float rounding only); 5-7x faster than oneDNN for K = 1 on 512 x 30 x 52 maps,
slower for K = 16 (the segmentation filter keeps oneDNN).
"""

from __future__ import annotations

import torch


def _tap_ranges(k: int, padding: int, size: int, out_size: int):
    """Per tap ``t``: output range ``[o0, o1)`` whose input ``o + t - padding`` lies inside ``[0, size)``."""
    for t in range(k):
        o0, o1 = max(0, padding - t), min(out_size, size + padding - t)
        yield t, o0, o1, o0 + t - padding


def _as_matrix(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])


def gemm_conv2d(x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=padding)`` for ``x`` (N, C, H, W), ``weight`` (K, C, k, k); NHWC out."""
    n, c, h, w = x.shape
    out_ch, _, k, _ = weight.shape
    taps = (_as_matrix(x) @ weight.permute(1, 0, 2, 3).reshape(c, -1)).view(n, h, w, out_ch, k, k)
    out_h, out_w = h + 2 * padding - k + 1, w + 2 * padding - k + 1
    out = x.new_zeros((n, out_h, out_w, out_ch))
    for ty, oy0, oy1, iy0 in _tap_ranges(k, padding, h, out_h):
        for tx, ox0, ox1, ix0 in _tap_ranges(k, padding, w, out_w):
            out[:, oy0:oy1, ox0:ox1] += taps[:, iy0 : iy0 + oy1 - oy0, ix0 : ix0 + ox1 - ox0, :, ty, tx]
    return out.permute(0, 3, 1, 2)


def gemm_conv2d_weight(x: torch.Tensor, grad_out: torch.Tensor, kernel_size: int, padding: int) -> torch.Tensor:
    """``torch.nn.grad.conv2d_weight(x, (K, C, k, k), grad_out, padding=padding)`` for ``grad_out`` (N, K, H', W')."""
    n, c, h, w = x.shape
    out_ch, out_h, out_w = grad_out.shape[1:]
    k = kernel_size
    g = grad_out.permute(0, 2, 3, 1)
    scattered = x.new_zeros((n, h, w, out_ch, k, k))
    for ty, oy0, oy1, iy0 in _tap_ranges(k, padding, h, out_h):
        for tx, ox0, ox1, ix0 in _tap_ranges(k, padding, w, out_w):
            scattered[:, iy0 : iy0 + oy1 - oy0, ix0 : ix0 + ox1 - ox0, :, ty, tx] = g[:, oy0:oy1, ox0:ox1]
    grad = _as_matrix(x).t() @ scattered.view(-1, out_ch * k * k)
    return grad.view(c, out_ch, k, k).permute(1, 0, 2, 3)
