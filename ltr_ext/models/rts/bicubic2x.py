"""Exact x2 bicubic upsampling for inference, and a convolution fused with it.

``F.interpolate(..., mode="bicubic", align_corners=False)`` at an exact factor of 2 has fixed
tap weights per output phase: even outputs read input pixels ``j-2..j+1`` at fraction 0.75, odd
ones ``j-1..j+2`` at 0.25 (cubic coefficient -0.75, indices clamped at the border). PyTorch's
CPU kernel recomputes these per pixel and is several times slower than these separable
versions, which give the same values up to float rounding:

- :func:`bicubic_upsample2x`: separable, on an input padded by repeating its border (= clamped
  indices).
- :func:`conv_of_bicubic_upsample2x`: ``conv(bicubic_x2(x))`` for a 3x3 convolution, computed as
  one 5x5 convolution per output phase on the low-resolution map (conv and upsampling are both
  linear) and interleaved; the outermost output rows and columns, where the convolution's zero
  padding differs from the upsampled border, are recomputed on thin strips.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

_A = -0.75  # PyTorch's (and OpenCV's) cubic convolution coefficient


def _cubic_weights(t: float) -> list[float]:
    """Weights of the 4 taps at offsets -1, 0, 1, 2 around ``floor(src)`` for fraction ``t``."""

    def near(x: float) -> float:  # |x| <= 1
        return ((_A + 2) * x - (_A + 3)) * x * x + 1

    def far(x: float) -> float:  # 1 < |x| < 2
        return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


EVEN = _cubic_weights(0.75)  # output 2j: inputs j-2 .. j+1
ODD = _cubic_weights(0.25)  # output 2j+1: inputs j-1 .. j+2


def _phase_taps() -> torch.Tensor:
    """``(2, 5)``: row ``a`` maps padded inputs ``j-2 .. j+2`` to output ``2j + a``."""
    taps = torch.zeros(2, 5, dtype=torch.float64)
    taps[0, 0:4] = torch.tensor(EVEN, dtype=torch.float64)
    taps[1, 1:5] = torch.tensor(ODD, dtype=torch.float64)
    return taps


def _conv_operator() -> torch.Tensor:
    """``(2, 3, 5)``: output phase a (output 2j+a), 3x3-conv tap t (reads upsampled 2j+a-1+t) -> inputs j-2..j+2."""
    taps = _phase_taps()
    operator = torch.zeros(2, 3, 5, dtype=torch.float64)
    for a in range(2):
        for t in range(3):
            base, phase = divmod(a - 1 + t, 2)  # the upsampled sample read is 2(j + base) + phase
            # taps[phase] covers j+base-2 .. j+base+2; shift it into the window j-2 .. j+2
            if base == 0:
                operator[a, t] = taps[phase]
            elif base == -1:
                operator[a, t, :4] = taps[phase, 1:]
            else:
                operator[a, t, 1:] = taps[phase, :4]
    return operator


CONV_OPERATOR = _conv_operator()


def _upsample_dim(p: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """``p`` replicate-padded by 2 along ``dim`` (``size + 4``) -> ``2 * size`` along that dim."""

    def taps(start: int) -> torch.Tensor:
        return p.narrow(dim, start, size)

    even = taps(0) * EVEN[0]
    odd = taps(1) * ODD[0]
    for k in range(1, 4):
        even.add_(taps(k), alpha=EVEN[k])
        odd.add_(taps(1 + k), alpha=ODD[k])
    dim = dim % p.dim()
    return torch.stack([even, odd], dim=dim + 1).flatten(dim, dim + 1)


def bicubic_upsample2x(x: torch.Tensor) -> torch.Tensor:
    """``F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)`` for ``(N, C, H, W)``.

    The passes run on contiguous rows: an NHWC (channels-last) input is upsampled as an NHWC
    tensor and returned channels-last (no layout copy before the next prepacked convolution),
    anything else as NCHW.
    """
    h, w = x.shape[-2:]
    nhwc = x.shape[1] > 1 and x.is_contiguous(memory_format=torch.channels_last)
    y, (h_dim, w_dim) = (x.permute(0, 2, 3, 1), (1, 2)) if nhwc else (x.contiguous(), (2, 3))
    out = _upsample_dim(_pad_dim(_upsample_dim(_pad_dim(y, w_dim), w, w_dim), h_dim), h, h_dim)
    return out.permute(0, 3, 1, 2) if nhwc else out


def _pad_dim(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Replicate-pad ``x`` by 2 on both sides of ``dim``."""
    first, last = x.narrow(dim, 0, 1), x.narrow(dim, x.shape[dim] - 1, 1)
    return torch.cat([first, first, x, last, last], dim=dim)


def _reference(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    return conv(F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False))


def _strip(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    return conv(bicubic_upsample2x(x))


def conv_of_bicubic_upsample2x(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``conv(bicubic_x2(x))`` for a 3x3, stride-1, padding-1 ``conv``; ``x`` needs H, W >= 4."""
    if (
        conv.kernel_size != (3, 3)
        or conv.stride != (1, 1)
        or conv.padding != (1, 1)
        or conv.groups != 1
        or conv.dilation != (1, 1)
        or min(x.shape[-2:]) < 4
    ):
        return _reference(x, conv)
    out_ch = conv.out_channels
    operator = CONV_OPERATOR.to(dtype=conv.weight.dtype, device=conv.weight.device)
    kernel = torch.einsum("ocyx,ayi,bxj->oabcij", conv.weight, operator, operator)
    kernel = kernel.reshape(out_ch * 4, conv.in_channels, 5, 5)
    bias = None if conv.bias is None else conv.bias.repeat_interleave(4)
    phases = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), kernel, bias)
    out = F.pixel_shuffle(phases, 2).contiguous()
    # Border ring: the conv's zero padding sees zeros outside the upsampled map, not its extension.
    strip = 4
    out[..., 0, :] = _strip(x[..., :strip, :], conv)[..., 0, :]
    out[..., -1, :] = _strip(x[..., -strip:, :], conv)[..., -1, :]
    out[..., :, 0] = _strip(x[..., :, :strip], conv)[..., :, 0]
    out[..., :, -1] = _strip(x[..., :, -strip:], conv)[..., :, -1]
    return out
