"""Memory reads of LMANet: local windows (eqs. 4.3-4.5) and global attention (Table 4.2 "G").

Local: for each query position, the logits are the dot products of the query key with the memory
keys at offsets ``-h..h`` (window side ``P = 2h + 1``) in every memory frame; positions outside
the map read zeros, so their logit is exactly 0 and they still take part in the softmax, which runs
jointly over offsets and memory frames. The read sums memory values with those weights.

Two implementations with the same values:

- :func:`local_logits`, :func:`local_attention`, :func:`local_read`: offset by offset with shifted
  views of zero-padded maps, as the official CUDA kernels do. They expose the full
  ``P^2 x S x H x W`` logits/weights (fixture checks, visualisation) and are fast for tiny windows.
- :func:`local_memory_read` (what the model runs): the map is cut into ``t x t`` query tiles; every
  tile attends densely to its ``(t + 2h)^2`` memory region in each frame with the positions outside
  each query's window masked by ``-inf``. Zero padding of the map makes the in-window out-of-map
  positions logit-0 entries as required, and the ``-inf`` entries get weight exactly 0, so this is
  the same joint softmax. The two products become batched matrix products (near peak speed on a
  CPU instead of one memory-bound pass per offset) and the logits exist only for a chunk of tiles
  at a time (a few MiB) instead of ``P^2 x S x H x W`` in full. The backward recomputes each
  chunk's weights, so training keeps no attention tensor either. On 2 CPU threads, 64 x 128 maps,
  S = 3, P = 21: about 6x faster than the offset loop (42 vs 250 ms), 1.31x the ideal
  multiply-adds for 4 x 4 tiles.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

# Windows up to this side run the offset loop in local_memory_read: with so few offsets the
# tiles' masked regions would be mostly waste (measured: the loop is faster up to P = 3).
DIRECT_MAX_WINDOW = 3
# Query tile side of the tiled read: small tiles waste least on masked positions ((t+P-1)^2 / P^2
# entries per query), 4 x 4 keeps the matrix products large enough (fastest for P = 5..41 on CPU).
DEFAULT_TILE = 4
# Bytes of logits per chunk of tiles: small enough to stay in a CPU's L2/L3 between the three
# passes (logits, softmax, read); a GPU prefers fewer, larger launches.
CHUNK_BYTES = {"cpu": 2 << 20}
DEFAULT_CHUNK_BYTES = 256 << 20


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
        shifted = padded[..., h + dy : h + dy + height, h + dx : h + dx + width]
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
    weights = attention.unsqueeze(-1)  # B, P*P, S, H, W, 1
    out = memory_values.new_zeros((b, height, width, dv))
    for k, (dy, dx) in enumerate(_offsets(window)):
        for t in range(s):
            out.addcmul_(padded[:, t, h + dy : h + dy + height, h + dx : h + dx + width], weights[:, k, t])
    return out.permute(0, 3, 1, 2)


def local_attention(query_key: torch.Tensor, memory_keys: torch.Tensor, window: int) -> torch.Tensor:
    """Softmax of the local logits jointly over offsets and memory frames."""
    logits = local_logits(query_key, memory_keys, window)
    b, p2, s, height, width = logits.shape
    return torch.softmax(logits.reshape(b, p2 * s, height, width), dim=1).reshape(b, p2, s, height, width)


@lru_cache(maxsize=32)
def _window_bias(tile: int, window: int, frames: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(t*t, (t+2h) * S * (t+2h))`` additive mask: 0 inside each query's window, -inf outside.

    Region entries are ordered (row, frame, column) like the strips of :class:`_Tiling`.
    """
    h = (window - 1) // 2
    span = tile + 2 * h
    query = torch.arange(tile, device=device)
    region = torch.arange(span, device=device)
    # region row r is map row (tile origin - h + r): inside the window of query row q iff q <= r <= q + 2h
    inside = (region[None, :] >= query[:, None]) & (region[None, :] <= query[:, None] + 2 * h)  # t, span
    mask = inside[:, None, :, None, None] & inside[None, :, None, None, :]  # qy, qx, ry, 1, rx
    mask = mask.expand(tile, tile, span, frames, span).reshape(tile * tile, span * frames * span)
    return torch.zeros(mask.shape, device=device, dtype=dtype).masked_fill_(~mask, float("-inf"))


class _Tiling:
    """Geometry of the tiled read: ``t x t`` query tiles in ``rows x columns``, each reading a
    ``(t+2h) x S x (t+2h)`` memory region, processed ``per`` tiles of a column at a time."""

    def __init__(self, memory_keys: torch.Tensor, window: int, tile: int, chunk_bytes: int) -> None:
        self.batch, _, self.frames, self.height, self.width = memory_keys.shape
        self.h, self.tile = (window - 1) // 2, tile
        self.rows, self.columns = -(-self.height // tile), -(-self.width // tile)
        self.span = tile + 2 * self.h
        self.region, self.queries = self.span * self.frames * self.span, tile * tile
        self.per = max(1, min(self.rows, chunk_bytes // (self.queries * self.region * memory_keys.element_size())))
        self.bias = _window_bias(tile, window, self.frames, memory_keys.device, memory_keys.dtype)

    def tiles(self, maps: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` -> ``(B, columns, rows, t*t, C)``, zero padded to whole tiles."""
        b, c, t = maps.shape[0], maps.shape[1], self.tile
        maps = F.pad(maps, (0, self.columns * t - self.width, 0, self.rows * t - self.height))
        return (
            maps.reshape(b, c, self.rows, t, self.columns, t)
            .permute(0, 4, 2, 3, 5, 1)
            .reshape(b, self.columns, self.rows, self.queries, c)
        )

    def untile(self, tiled: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`tiles`, cropped to the map: ``(B, C, H, W)`` contiguous."""
        b, c, t = tiled.shape[0], tiled.shape[-1], self.tile
        maps = tiled.reshape(b, self.columns, self.rows, t, t, c).permute(0, 5, 2, 3, 1, 4)
        return maps.reshape(b, c, self.rows * t, self.columns * t)[:, :, : self.height, : self.width].contiguous()

    def _columns(self, column: int) -> tuple[int, int, int]:
        start = column * self.tile - self.h
        lo, hi = max(start, 0), min(start + self.span, self.width)
        return lo, hi, lo - start

    @staticmethod
    def channels_last(maps: torch.Tensor) -> torch.Tensor:
        """``(B, C, S, H, W)`` -> contiguous ``(B, H, S, W, C)``: strips are then cut from
        contiguous rows (a strided gather from channels-first maps costs 3-4x more)."""
        return maps.permute(0, 3, 2, 4, 1).contiguous()

    @staticmethod
    def channels_first(maps: torch.Tensor) -> torch.Tensor:
        return maps.permute(0, 4, 2, 1, 3).contiguous()

    def strip(self, maps: torch.Tensor, batch: int, column: int) -> torch.Tensor:
        """Memory columns ``[column*t - h, column*t + t + h)`` of channels-last ``(B, H, S, W, C)``
        maps, zero padded, as a contiguous ``(rows*t + 2h, S, t + 2h, C)`` block.

        In this layout the region of every tile of the column is one contiguous slice, so the
        matrix products read it without a copy.
        """
        lo, hi, left = self._columns(column)
        bottom = self.rows * self.tile + self.h - self.height
        return F.pad(maps[batch, :, :, lo:hi], (0, 0, left, self.span - left - (hi - lo), 0, 0, self.h, bottom))

    def add_strip(self, grad_maps: torch.Tensor, strip: torch.Tensor, batch: int, column: int) -> None:
        """Add a strip-shaped gradient to the in-map part of channels-last ``grad_maps``."""
        lo, hi, left = self._columns(column)
        grad_maps[batch, :, :, lo:hi] += strip[self.h : self.h + self.height, :, left : left + hi - lo]

    def regions(self, strip: torch.Tensor, first: int, count: int) -> torch.Tensor:
        """``(count, region, C)`` overlapping view of the regions of tiles ``first...`` of a strip."""
        channels = strip.shape[-1]
        step = self.tile * self.frames * self.span * channels
        return strip.as_strided(
            (count, self.region, channels), (step, channels, 1), strip.storage_offset() + first * step
        )

    def chunks(self):
        """``(batch, column, first tile row, count)`` of every chunk."""
        for b in range(self.batch):
            for column in range(self.columns):
                for first in range(0, self.rows, self.per):
                    yield b, column, first, min(self.per, self.rows - first)


def _tiled_forward(
    grid: _Tiling, query_key: torch.Tensor, memory_keys: torch.Tensor, memory_values: torch.Tensor
) -> torch.Tensor:
    q = grid.tiles(query_key)
    memory_keys, memory_values = grid.channels_last(memory_keys), grid.channels_last(memory_values)
    out = query_key.new_empty((grid.batch, grid.columns, grid.rows, grid.queries, memory_values.shape[-1]))
    # one logits buffer reused by every chunk: no allocation (and no page faults) per chunk
    buffer = query_key.new_empty((grid.per, grid.queries, grid.region))
    strips = None
    for b, column, first, n in grid.chunks():
        if first == 0:
            strips = grid.strip(memory_keys, b, column), grid.strip(memory_values, b, column)
        logits = buffer[:n]
        torch.baddbmm(
            grid.bias, q[b, column, first : first + n], grid.regions(strips[0], first, n).transpose(1, 2), out=logits
        )
        torch.softmax(logits, -1, out=logits)
        torch.bmm(logits, grid.regions(strips[1], first, n), out=out[b, column, first : first + n])
    return grid.untile(out)


class _TiledRead(torch.autograd.Function):
    """Tiled local read whose backward recomputes the attention chunk by chunk (nothing of size
    ``P^2 x S x H x W`` is kept for training either)."""

    @staticmethod
    def forward(ctx, query_key, memory_keys, memory_values, window, tile, chunk_bytes):
        grid = _Tiling(memory_keys, window, tile, chunk_bytes)
        ctx.grid = grid
        ctx.save_for_backward(query_key, memory_keys, memory_values)
        return _tiled_forward(grid, query_key, memory_keys, memory_values)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        grid: _Tiling = ctx.grid
        query_key, memory_keys, memory_values = ctx.saved_tensors
        q, go = grid.tiles(query_key), grid.tiles(grad_out)
        memory_keys, memory_values = grid.channels_last(memory_keys), grid.channels_last(memory_values)
        grad_q = torch.zeros_like(q)
        grad_keys, grad_values = torch.zeros_like(memory_keys), torch.zeros_like(memory_values)
        for b, column, first, n in grid.chunks():
            if first == 0:
                keys, values = grid.strip(memory_keys, b, column), grid.strip(memory_values, b, column)
                grad_key_strip, grad_value_strip = torch.zeros_like(keys), torch.zeros_like(values)
            k, v = grid.regions(keys, first, n), grid.regions(values, first, n)
            qc, goc = q[b, column, first : first + n], go[b, column, first : first + n]
            weights = torch.softmax(torch.baddbmm(grid.bias, qc, k.transpose(1, 2)), -1)
            grad_v = torch.bmm(weights.transpose(1, 2), goc)
            grad_w = torch.bmm(goc, v.transpose(1, 2))
            # softmax backward; masked entries have weight 0 and get logit gradient 0
            grad_logits = grad_w.sub_((grad_w * weights).sum(-1, keepdim=True)).mul_(weights)
            grad_q[b, column, first : first + n] = torch.bmm(grad_logits, k)
            grad_k = torch.bmm(grad_logits.transpose(1, 2), qc)
            # regions of neighbouring tiles overlap: accumulate tile by tile
            for i in range(n):
                rows = slice((first + i) * grid.tile, (first + i) * grid.tile + grid.span)
                grad_key_strip[rows] += grad_k[i].view(grid.span, grid.frames, grid.span, -1)
                grad_value_strip[rows] += grad_v[i].view(grid.span, grid.frames, grid.span, -1)
            if first + n == grid.rows:
                grid.add_strip(grad_keys, grad_key_strip, b, column)
                grid.add_strip(grad_values, grad_value_strip, b, column)
        return (grid.untile(grad_q), grid.channels_first(grad_keys), grid.channels_first(grad_values), None, None, None)


def local_memory_read(
    query_key: torch.Tensor,
    memory_keys: torch.Tensor,
    memory_values: torch.Tensor,
    window: int,
    *,
    tile: int | None = None,
    chunk_bytes: int | None = None,
) -> torch.Tensor:
    """Local read (eqs. 4.3-4.5): ``local_read(local_attention(qk, mk, P), mv, P)`` without the full
    ``P^2 x S x H x W`` logits.

    ``(B, Dk, H, W)`` query key, ``(B, Dk, S, H, W)`` memory keys, ``(B, Dv, S, H, W)`` memory
    values -> ``(B, Dv, H, W)``. ``tile`` forces the tiled path with that query tile side (default:
    the offset loop for windows up to ``DIRECT_MAX_WINDOW``, else tiles of ``DEFAULT_TILE``);
    ``chunk_bytes`` bounds the logits held at once. Differentiable (the tiled backward
    recomputes the attention per chunk).
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd positive side length, got {window}")
    if tile is None:
        if window <= DIRECT_MAX_WINDOW:
            return local_read(local_attention(query_key, memory_keys, window), memory_values, window)
        tile = DEFAULT_TILE
    if tile < 1:
        raise ValueError(f"tile must be a positive side length, got {tile}")
    if chunk_bytes is None:
        chunk_bytes = CHUNK_BYTES.get(query_key.device.type, DEFAULT_CHUNK_BYTES)
    return _TiledRead.apply(query_key, memory_keys, memory_values, window, tile, chunk_bytes)


def global_read(
    query_key: torch.Tensor, memory_keys: torch.Tensor, memory_values: torch.Tensor, chunk_bytes: int | None = None
) -> torch.Tensor:
    """Attention over all ``S*H*W`` memory positions with logits scaled by ``1/sqrt(Dk)``.

    The softmax runs per query position, so queries are processed in chunks whose
    ``S*H*W x chunk`` weights fit ``chunk_bytes`` (the full matrix is ``S*(H*W)^2`` values).
    """
    b, dk, height, width = query_key.shape
    keys = memory_keys.flatten(2).transpose(1, 2)  # B, S*H*W, Dk
    values = memory_values.flatten(2)  # B, Dv, S*H*W
    query = query_key.flatten(2)  # B, Dk, H*W
    if chunk_bytes is None:
        chunk_bytes = 8 * CHUNK_BYTES.get(query_key.device.type, DEFAULT_CHUNK_BYTES)
    per = max(1, chunk_bytes // (keys.shape[1] * query.element_size()))
    scale = math.sqrt(dk)
    reads = [
        torch.bmm(values, torch.softmax(torch.bmm(keys, query[..., i : i + per]) / scale, dim=1))
        for i in range(0, query.shape[-1], per)
    ]
    return torch.cat(reads, -1).view(b, -1, height, width)
