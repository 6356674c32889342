"""Memory reads of LMANet: local windows (eqs. 4.3-4.5) and global attention (Table 4.2 "G").

Local: for each query position, the logits are the dot products of the query key with the memory
keys at offsets ``-h..h`` (window side ``P = 2h + 1``) in every memory frame; positions outside
the map read zeros, so their logit is exactly 0 and they still take part in the softmax, which runs
jointly over offsets and memory frames. The read sums memory values with those weights.

The computation walks over the ``P^2`` offsets with shifted views of zero-padded maps, so memory
stays at what the softmax itself needs (``P^2 x S x H x W`` logits), never ``P^2`` copies of the
key or value channels.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _offsets(window: int) -> list[tuple[int, int]]:
    h = (window - 1) // 2
    return [(dy, dx) for dy in range(-h, h + 1) for dx in range(-h, h + 1)]


def local_logits(query_key: torch.Tensor, memory_keys: torch.Tensor, window: int) -> torch.Tensor:
    """``(B, Dk, H, W)`` x ``(B, Dk, S, H, W)`` -> ``(B, P*P, S, H, W)``, offset k = (dy+h)*P + (dx+h)."""
    b, _, s, height, width = memory_keys.shape
    h = (window - 1) // 2
    padded = F.pad(memory_keys, (h, h, h, h))
    logits = query_key.new_empty((b, window * window, s, height, width))
    q = query_key.unsqueeze(2)
    for k, (dy, dx) in enumerate(_offsets(window)):
        shifted = padded[..., h + dy: h + dy + height, h + dx: h + dx + width]
        logits[:, k] = (q * shifted).sum(dim=1)
    return logits


def local_read(attention: torch.Tensor, memory_values: torch.Tensor, window: int) -> torch.Tensor:
    """``(B, P*P, S, H, W)`` weights x ``(B, Dv, S, H, W)`` values -> ``(B, Dv, H, W)``.

    Channels-last with one fused multiply-add per (offset, frame): no temporaries, and the value
    channels are the contiguous inner axis (about 3x faster on a CPU than channels-first).
    """
    b, dv, s, height, width = memory_values.shape
    h = (window - 1) // 2
    padded = F.pad(memory_values, (h, h, h, h)).permute(0, 2, 3, 4, 1).contiguous()  # B, S, H+2h, W+2h, Dv
    weights = attention.unsqueeze(-1)                                                    # B, P*P, S, H, W, 1
    out = memory_values.new_zeros((b, height, width, dv))
    for k, (dy, dx) in enumerate(_offsets(window)):
        for t in range(s):
            out.addcmul_(padded[:, t, h + dy: h + dy + height, h + dx: h + dx + width], weights[:, k, t])
    return out.permute(0, 3, 1, 2)


def local_attention(query_key: torch.Tensor, memory_keys: torch.Tensor, window: int) -> torch.Tensor:
    """Softmax of the local logits jointly over offsets and memory frames."""
    logits = local_logits(query_key, memory_keys, window)
    b, p2, s, height, width = logits.shape
    return torch.softmax(logits.reshape(b, p2 * s, height, width), dim=1).reshape(b, p2, s, height, width)


def global_read(query_key: torch.Tensor, memory_keys: torch.Tensor, memory_values: torch.Tensor) -> torch.Tensor:
    """Attention over all ``S*H*W`` memory positions with logits scaled by ``1/sqrt(Dk)``."""
    b, dk, height, width = query_key.shape
    keys = memory_keys.flatten(2)                       # B, Dk, S*H*W
    values = memory_values.flatten(2)                   # B, Dv, S*H*W
    query = query_key.flatten(2)                        # B, Dk, H*W
    weights = torch.softmax(torch.bmm(keys.transpose(1, 2), query) / math.sqrt(dk), dim=1)  # B, SHW, HW
    return torch.bmm(values, weights).view(b, -1, height, width)
