"""Local correlation, joint softmax and memory read against naive loops (borders included)."""
import itertools
import math

import pytest
import torch

from segmentation_plugins.lmanet.models.attention import global_read, local_attention, local_logits, local_read


def naive_logits(qk, mk, window):
    b, dk, s, height, width = mk.shape
    h = (window - 1) // 2
    out = torch.zeros(b, window * window, s, height, width, dtype=torch.float64)
    for bi, t, y, x, dy, dx in itertools.product(range(b), range(s), range(height), range(width),
                                                 range(-h, h + 1), range(-h, h + 1)):
        yy, xx = y + dy, x + dx
        if 0 <= yy < height and 0 <= xx < width:  # outside the map: logit stays exactly 0
            out[bi, (dy + h) * window + dx + h, t, y, x] = (qk[bi, :, y, x] * mk[bi, :, t, yy, xx]).sum()
    return out


def naive_read(attn, mv, window):
    b, dv, s, height, width = mv.shape
    h = (window - 1) // 2
    out = torch.zeros(b, dv, height, width, dtype=torch.float64)
    for bi, t, y, x, dy, dx in itertools.product(range(b), range(s), range(height), range(width),
                                                 range(-h, h + 1), range(-h, h + 1)):
        yy, xx = y + dy, x + dx
        if 0 <= yy < height and 0 <= xx < width:
            out[bi, :, y, x] += attn[bi, (dy + h) * window + dx + h, t, y, x] * mv[bi, :, t, yy, xx]
    return out


@pytest.mark.parametrize("window,frames", [(1, 1), (3, 2), (5, 3), (3, 1)])
def test_local_logits_and_read_match_naive_loops(window, frames):
    g = torch.Generator().manual_seed(window * 10 + frames)
    qk = torch.randn(2, 3, 5, 6, generator=g, dtype=torch.float64)
    mk = torch.randn(2, 3, frames, 5, 6, generator=g, dtype=torch.float64)
    mv = torch.randn(2, 4, frames, 5, 6, generator=g, dtype=torch.float64)
    assert torch.allclose(local_logits(qk, mk, window), naive_logits(qk, mk, window))
    attn = local_attention(qk, mk, window)
    assert torch.allclose(local_read(attn, mv, window), naive_read(attn, mv, window))


def test_softmax_is_joint_over_offsets_and_frames_and_counts_border_offsets():
    qk, mk = torch.randn(1, 2, 4, 4), torch.randn(1, 2, 3, 4, 4)
    attn = local_attention(qk, mk, 3)
    assert torch.allclose(attn.sum(dim=(1, 2)), torch.ones(1, 4, 4))
    logits = local_logits(qk, mk, 3)
    assert (logits[0, 0, :, 0, 0] == 0).all()  # offset (-1, -1) at the top-left corner is off the map
    assert (attn[0, 0, :, 0, 0] > 0).all()     # ... and still takes part in the softmax


def test_global_read_matches_the_definition():
    qk, mk, mv = torch.randn(1, 4, 3, 5), torch.randn(1, 4, 2, 3, 5), torch.randn(1, 6, 2, 3, 5)
    weights = torch.softmax(torch.einsum("bcn,bcm->bnm", mk.flatten(2), qk.flatten(2)) / math.sqrt(4), dim=1)
    expected = torch.einsum("bcn,bnm->bcm", mv.flatten(2), weights).view(1, 6, 3, 5)
    assert torch.allclose(global_read(qk, mk, mv), expected, atol=1e-6)
