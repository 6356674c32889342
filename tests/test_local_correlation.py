"""Local correlation, joint softmax and memory read against naive loops (borders included)."""

import itertools
import math

import pytest
import torch

from segmentation_plugins.lmanet.models.attention import (
    global_read,
    local_attention,
    local_logits,
    local_memory_read,
    local_read,
)


def naive_logits(qk, mk, window):
    b, dk, s, height, width = mk.shape
    h = (window - 1) // 2
    out = torch.zeros(b, window * window, s, height, width, dtype=torch.float64)
    for bi, t, y, x, dy, dx in itertools.product(
        range(b), range(s), range(height), range(width), range(-h, h + 1), range(-h, h + 1)
    ):
        yy, xx = y + dy, x + dx
        if 0 <= yy < height and 0 <= xx < width:  # outside the map: logit stays exactly 0
            out[bi, (dy + h) * window + dx + h, t, y, x] = (qk[bi, :, y, x] * mk[bi, :, t, yy, xx]).sum()
    return out


def naive_read(attn, mv, window):
    b, dv, s, height, width = mv.shape
    h = (window - 1) // 2
    out = torch.zeros(b, dv, height, width, dtype=torch.float64)
    for bi, t, y, x, dy, dx in itertools.product(
        range(b), range(s), range(height), range(width), range(-h, h + 1), range(-h, h + 1)
    ):
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
    assert (attn[0, 0, :, 0, 0] > 0).all()  # ... and still takes part in the softmax


def test_global_read_matches_the_definition():
    qk, mk, mv = torch.randn(1, 4, 3, 5), torch.randn(1, 4, 2, 3, 5), torch.randn(1, 6, 2, 3, 5)
    weights = torch.softmax(torch.einsum("bcn,bcm->bnm", mk.flatten(2), qk.flatten(2)) / math.sqrt(4), dim=1)
    expected = torch.einsum("bcn,bnm->bcm", mv.flatten(2), weights).view(1, 6, 3, 5)
    assert torch.allclose(global_read(qk, mk, mv), expected, atol=1e-6)


def _maps(batch, frames, height, width, seed, dk=3, dv=4):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, dk, height, width, generator=g, dtype=torch.float64),
        torch.randn(batch, dk, frames, height, width, generator=g, dtype=torch.float64),
        torch.randn(batch, dv, frames, height, width, generator=g, dtype=torch.float64),
    )


@pytest.mark.parametrize("window,tile", [(1, 1), (1, 4), (3, 2), (3, 4), (21, 4), (21, 5)])
def test_tiled_read_matches_naive_loops_on_maps_smaller_than_the_window(window, tile):
    qk, mk, mv = _maps(1, 2, 3, 5, seed=window + tile)
    expected = naive_read(naive_logits(qk, mk, window).flatten(1, 2).softmax(1).view(1, window**2, 2, 3, 5), mv, window)
    assert torch.allclose(local_memory_read(qk, mk, mv, window, tile=tile), expected)


@pytest.mark.parametrize("window", [1, 3, 5, 21])
@pytest.mark.parametrize("size", [(5, 6), (7, 3), (9, 11), (13, 17)])
@pytest.mark.parametrize("tile,chunk_bytes", [(4, None), (3, 1), (8, 1)])
def test_tiled_read_equals_the_offset_loop(window, size, tile, chunk_bytes):
    # chunk_bytes=1: one tile per chunk, so rows of tiles are split over many softmax chunks
    qk, mk, mv = _maps(2, 3, *size, seed=window)
    expected = local_read(local_attention(qk, mk, window), mv, window)
    got = local_memory_read(qk, mk, mv, window, tile=tile, chunk_bytes=chunk_bytes)
    assert got.shape == expected.shape and got.is_contiguous()
    assert torch.allclose(got, expected)


@pytest.mark.parametrize("window", [3, 21])
def test_default_read_picks_a_path_with_the_same_values(window):
    qk, mk, mv = (x.float() for x in _maps(1, 3, 16, 32, seed=1, dk=16, dv=64))
    expected = local_read(local_attention(qk, mk, window), mv, window)
    with torch.inference_mode():
        got = local_memory_read(qk, mk, mv, window)
    assert (got - expected).abs().max() <= 1e-4 * expected.abs().max()  # float32, other summation order


def test_tiled_read_gradients_equal_the_offset_loop_gradients():
    qk, mk, mv = _maps(2, 2, 6, 7, seed=3)
    inputs = [x.requires_grad_() for x in (qk, mk, mv)]
    upstream = torch.randn(2, 4, 6, 7, dtype=torch.float64)
    direct = torch.autograd.grad((local_read(local_attention(qk, mk, 5), mv, 5) * upstream).sum(), inputs)
    tiled = torch.autograd.grad((local_memory_read(qk, mk, mv, 5, tile=3, chunk_bytes=1) * upstream).sum(), inputs)
    assert all(torch.allclose(a, b) for a, b in zip(direct, tiled))


def test_tiled_read_is_the_same_with_and_without_autograd():
    qk, mk, mv = _maps(1, 3, 9, 10, seed=4)
    with torch.inference_mode():
        frozen = local_memory_read(qk, mk, mv, 7)
    graph = local_memory_read(qk.requires_grad_(), mk, mv, 7)
    assert graph.requires_grad and torch.allclose(graph.detach(), frozen, rtol=0, atol=1e-12)
    graph.sum().backward()  # the window mask cached under inference mode serves the backward too
    assert torch.isfinite(qk.grad).all()


def test_local_memory_read_rejects_bad_windows_and_tiles():
    qk, mk, mv = _maps(1, 1, 4, 4, seed=5)
    with pytest.raises(ValueError, match="odd"):
        local_memory_read(qk, mk, mv, 4)
    with pytest.raises(ValueError, match="tile"):
        local_memory_read(qk, mk, mv, 5, tile=0)


def test_global_read_in_query_chunks_equals_one_product():
    qk, mk, mv = torch.randn(2, 4, 5, 7), torch.randn(2, 4, 3, 5, 7), torch.randn(2, 6, 3, 5, 7)
    assert torch.allclose(
        global_read(qk, mk, mv, chunk_bytes=1), global_read(qk, mk, mv, chunk_bytes=1 << 30), atol=1e-6
    )
