"""Warping of labels, probabilities and features with the forward flow (thesis eqs. 3.1-3.2).

Forward warp t-1 → t (eq. 3.1): the value at pixel p of frame t is read at p − F(p) in frame
t-1, where F is the forward flow evaluated at the *destination* pixel (the thesis's
approximation of the backward flow, docs/evs.md §3). Backward warp t → t-1 (used by the IAM,
eq. 3.3): read at p + F(p), exact for pixels of frame t-1. Non-integer positions are resolved by
nearest neighbour (eq. 3.2; bilinear selectable for probabilities and features).

Every tensor is warped at its own resolution: the flow is resized bilinearly to that grid and
its x / y components multiplied by the width / height ratios. A :class:`Warper` holds one
frame pair's flow and caches those rescaled flows, so warping L, P and F and the IAM's three
label warps cost one flow resize per resolution.

Outside the frame: labels get the ignore value (255, never cv2's default 0, which is "road"),
probabilities and features get 0 (docs/evs.md §9 #7); ``border="replicate"`` repeats the
edge instead.

Work is done by ``cv2.remap`` on H×W×C arrays. cv2.remap silently returns garbage for more
than 128 channels (docs/evs_cpu.md §4.2), and one call on up to 128 channels is much faster
than smaller groups (docs/evs_cpu.md §4.3), so tensors are converted to contiguous H×W×C blocks of at most 128
channels: one block for the 19 probabilities, two for 256 feature channels. A pipeline that
warps the same features repeatedly can keep them as blocks (:func:`to_blocks`,
:meth:`Warper.blocks`, :func:`from_blocks`) and convert only when the Refiner needs them.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from .errors import EVSConfigError, EVSInputError

IGNORE_LABEL = 255
MAX_REMAP_CHANNELS = 128  # cv2.remap limit in OpenCV 5 (docs/evs_cpu.md §4.2)

INTERPOLATIONS = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR}
BORDERS = {"constant": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}
_REMAP_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


def _lookup(table: dict, kind: str, name: str) -> int:
    try:
        return table[name]
    except KeyError:
        raise EVSConfigError(f"unknown {kind} '{name}'; known {kind}s: {', '.join(sorted(table))}") from None


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Flow H×W×2 → ``size`` = (h, w): bilinear resize, x scaled by w/W and y by h/H."""
    height, width = flow.shape[:2]
    h, w = size
    if (h, w) == (height, width):
        return flow
    out = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= w / width
    out[..., 1] *= h / height
    return out


def to_blocks(x: torch.Tensor, max_channels: int = MAX_REMAP_CHANNELS) -> list[np.ndarray]:
    """A C×H×W (or 1×C×H×W) tensor as contiguous float32 H×W×c numpy blocks of ≤ ``max_channels``.

    A tensor already in H×W×C memory (channels-last, e.g. a previous warp's output) is used
    without a transpose; otherwise cv2.merge transposes each block (2-3x faster than torch).
    """
    x = _chw(x).detach().to("cpu", torch.float32)
    channels = x.shape[0]
    edges = np.linspace(0, channels, max(1, math.ceil(channels / max_channels)) + 1).round().astype(int)
    hwc = x.permute(1, 2, 0)
    if hwc.is_contiguous():
        array = hwc.numpy()
        return [array] if len(edges) == 2 else [np.ascontiguousarray(array[..., a:b]) for a, b in zip(edges, edges[1:])]
    planes = x.contiguous().numpy()
    return [cv2.merge(list(planes[a:b])).reshape(*planes.shape[1:], b - a) for a, b in zip(edges, edges[1:])]


def from_blocks(blocks: list[np.ndarray], like: torch.Tensor | None = None) -> torch.Tensor:
    """Blocks from :func:`to_blocks` back to one C×H×W tensor (rank, dtype and device of ``like``).

    The tensor is a view of the H×W×C memory (channels-last strides, no transpose): torch ops
    and the next warp take it as is; call ``.contiguous()`` where C×H×W memory is required.
    """
    parts = [b if b.ndim == 3 else b[..., None] for b in blocks]
    out = torch.from_numpy(parts[0] if len(parts) == 1 else np.concatenate(parts, axis=2)).permute(2, 0, 1)
    if like is not None:
        out = out.to(device=like.device, dtype=like.dtype)
        if like.ndim == 4:
            out = out.unsqueeze(0)
    return out


def _chw(x: torch.Tensor) -> torch.Tensor:
    if x.ndim == 4 and x.shape[0] == 1:
        return x[0]
    if x.ndim == 3:
        return x
    raise EVSInputError(f"expected a C×H×W or 1×C×H×W tensor (one frame per warp), got {tuple(x.shape)}")


class Warper:
    """One frame pair's forward flow, rescaled once per resolution it is used at."""

    def __init__(self, flow: np.ndarray) -> None:
        if flow.ndim != 3 or flow.shape[2] != 2:
            raise EVSInputError(f"flow must be H×W×2, got shape {flow.shape}")
        self.flow = np.ascontiguousarray(flow, dtype=np.float32)
        self._offsets: dict[tuple[int, int, bool], np.ndarray] = {}

    def flow_at(self, size: tuple[int, int]) -> np.ndarray:
        """The flow on an h×w grid (``size`` = (h, w)), vectors in that grid's pixels."""
        return resize_flow(self.flow, size)

    def offsets(self, size: tuple[int, int], backward: bool = False) -> np.ndarray:
        """Relative sampling map for cv2.remap: −F (forward, eq. 3.1) or +F (backward) at ``size``."""
        key = (size[0], size[1], backward)
        if key not in self._offsets:
            flow = self.flow_at(size)
            self._offsets[key] = np.ascontiguousarray(flow if backward else -flow)
        return self._offsets[key]

    def array(
        self,
        array: np.ndarray,
        *,
        backward: bool = False,
        interpolation: str = "nearest",
        border: str = "constant",
        value: float = 0.0,
    ) -> np.ndarray:
        """Warp an H×W or H×W×C numpy array at its own resolution (any C; >128 is split)."""
        if array.ndim not in (2, 3) or array.dtype not in _REMAP_DTYPES:
            raise EVSInputError(
                f"warp needs an H×W or H×W×C array of {[np.dtype(d).name for d in _REMAP_DTYPES]}, "
                f"got shape {array.shape} {array.dtype}"
            )
        if array.ndim == 3 and array.shape[2] > MAX_REMAP_CHANNELS:
            count = math.ceil(array.shape[2] / MAX_REMAP_CHANNELS)
            # slicing copies here; callers warping often should keep pre-split blocks
            parts = [np.ascontiguousarray(p) for p in np.array_split(array, count, axis=2)]
            return np.concatenate(
                self.blocks(parts, backward=backward, interpolation=interpolation, border=border, value=value), axis=2
            )
        return self._remap(array, backward, interpolation, border, value)

    def blocks(
        self,
        blocks: list[np.ndarray],
        *,
        backward: bool = False,
        interpolation: str = "nearest",
        border: str = "constant",
        value: float = 0.0,
    ) -> list[np.ndarray]:
        """Warp H×W×c blocks of ≤ 128 channels (see :func:`to_blocks`), one cv2.remap each."""
        return [self._remap(b, backward, interpolation, border, value) for b in blocks]

    def labels(
        self, labels: np.ndarray, *, backward: bool = False, border: str = "constant", ignore_value: int = IGNORE_LABEL
    ) -> np.ndarray:
        """Warp an H×W uint8 label map by nearest neighbour; outside the frame: ``ignore_value``."""
        if not isinstance(labels, np.ndarray) or labels.ndim != 2 or labels.dtype != np.uint8:
            got = f"{labels.shape} {labels.dtype}" if isinstance(labels, np.ndarray) else type(labels).__name__
            raise EVSInputError(f"labels must be an H×W uint8 numpy array, got {got}")
        return self._remap(labels, backward, "nearest", border, ignore_value)

    def tensor(
        self,
        x: torch.Tensor,
        *,
        backward: bool = False,
        interpolation: str = "nearest",
        border: str = "constant",
        value: float = 0.0,
    ) -> torch.Tensor:
        """Warp probabilities or features (C×H×W or 1×C×H×W, any device) at their own resolution.

        The result has the input's rank, dtype and device; cv2 does the work on the CPU, so no
        gradient flows through a warp.
        """
        blocks = self.blocks(to_blocks(x), backward=backward, interpolation=interpolation, border=border, value=value)
        return from_blocks(blocks, like=x)

    def _remap(self, array: np.ndarray, backward: bool, interpolation: str, border: str, value: float) -> np.ndarray:
        if array.ndim == 3 and array.shape[2] > MAX_REMAP_CHANNELS:
            raise EVSInputError(f"cv2.remap handles at most {MAX_REMAP_CHANNELS} channels, got {array.shape[2]}")
        offsets = self.offsets(array.shape[:2], backward)
        out = cv2.remap(
            array,
            offsets,
            None,
            _lookup(INTERPOLATIONS, "interpolation", interpolation) | cv2.WARP_RELATIVE_MAP,
            borderMode=_lookup(BORDERS, "border mode", border),
            borderValue=(value,) * 4,
        )  # a 4-tuple: a scalar would fill only channel 0
        return out.reshape(array.shape)  # cv2 drops a trailing 1-channel axis


def warp_labels(labels: np.ndarray, flow: np.ndarray, **kwargs) -> np.ndarray:
    """One-off :meth:`Warper.labels` (use a :class:`Warper` to warp several maps with one flow)."""
    return Warper(flow).labels(labels, **kwargs)


def warp_tensor(x: torch.Tensor, flow: np.ndarray, **kwargs) -> torch.Tensor:
    """One-off :meth:`Warper.tensor` for probabilities or features."""
    return Warper(flow).tensor(x, **kwargs)
