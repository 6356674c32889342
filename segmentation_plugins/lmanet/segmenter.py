"""LMANet as a :class:`~segmentation_plugins.segmenter.VideoSegmenter` (streaming, rolling memory).

The parameters name the weights (``net_path``: a checkpoint of ``run_training lmanet``, whose
constructor record rebuilds the network, or a bare state dict with ``constructor`` and
``constructor_kwargs``), the memory size used at inference (it may differ from training, thesis
Table 4.10), the working resolution ``input_size`` (h, w) and the device. A single-frame network
(no ``forward_clip``) is segmented frame by frame with no memory: the baseline of the study.
``precision`` ('fp32' default, 'bf16', 'auto': bf16 where the device computes it natively, see
``pytracking_ext.evaluation.precision``) sets the dtype of the encoder, key/value heads, fusion and
decoder (bf16: channels-last, on this segmenter's own copy of the network); the memory read (local
attention softmax and weighted sum), the output resize, softmax and argmax stay fp32.
A weights file that cannot be read, holds another network or does not fit is one
:class:`LMANetWeightsError` line naming the file (as EVS's ``EVSWeightsError``).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
import torch.nn.functional as F

from pytracking_ext.errors import PytrackingError
from pytracking_ext.evaluation.network_loading import (
    NetworkNotFoundError,
    NetworkSpec,
    load_network,
    read_network,
    select_device,
)
from pytracking_ext.trackers import TrackerParams

from ..segmenter import FrameSegmenter, SegmentationOutput, check_frame
from .inference import EmptyMemory, LMANetStreamer, to_network
from .models.lmanet import LMANet, SingleFrameNet


class LMANetWeightsError(PytrackingError):
    """LMANet weights are not configured, not readable or do not fit the network (one line, naming the file)."""


class LMANetSegmenter(FrameSegmenter):
    """Frame-by-frame segmentation with the last ``memory_size`` frames as memory."""

    def __init__(
        self,
        net: torch.nn.Module,
        params: TrackerParams,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
        owned: bool = False,
    ) -> None:
        """``owned``: ``net`` is this segmenter's own copy (else it may be the loader's shared one)."""
        self.owned = owned
        self.net = net.to(device).eval()
        self.params = params
        self.device = device
        self.dtype = dtype
        self.num_classes = int(params.num_classes)
        self.input_size = tuple(params.input_size) if params.get("input_size", None) else None  # (h, w)
        self.streamer = None
        if hasattr(net, "forward_clip"):
            self._reconfigure_reading(params)
        if dtype != torch.float32:
            # a network shared through the loader's cache is never cast: only this segmenter's own copy
            self.net = self._own_copy().to(dtype=dtype, memory_format=torch.channels_last)
        if hasattr(net, "forward_clip"):
            self.streamer = LMANetStreamer(
                self.net, params.get("memory_size", None), EmptyMemory(params.get("empty_memory", "available"))
            )

    def _reconfigure_reading(self, params: TrackerParams) -> None:
        """``window`` / ``attention`` set in the parameters replace the trained ones (an inference-time ablation).

        The loaded network is shared by every segmenter of the same weights file (the loader's cache),
        so a changed reading goes into this segmenter's own copy.
        """
        window, attention = params.get("window", None), params.get("attention", None)
        if window is not None and (int(window) < 1 or int(window) % 2 == 0):
            raise PytrackingError(f"window must be an odd positive side length, got {window}")
        if attention is not None:
            from .models.lmanet import MEMORY_READS

            if attention not in MEMORY_READS:
                raise PytrackingError(f"attention must be one of {', '.join(MEMORY_READS)}, got '{attention}'")
        changes = {
            name: value
            for name, value in (("window", None if window is None else int(window)), ("attention", attention))
            if value is not None and getattr(self.net, name) != value
        }
        if changes:
            self.net = self._own_copy()
            for name, value in changes.items():
                setattr(self.net, name, value)

    def _own_copy(self) -> torch.nn.Module:
        """The network itself when this segmenter owns it, else a copy (plain networks only: a CPU
        inference copy holds prepacked weights that cannot be deep-copied, so build_segmenter hands
        those over as ``owned``)."""
        if self.owned:
            return self.net
        self.owned = True
        return copy.deepcopy(self.net)

    def reset(self) -> None:
        if self.streamer is not None:
            self.streamer.reset()

    @torch.inference_mode()
    def segment(self, frame: np.ndarray) -> SegmentationOutput:
        start = time.perf_counter()
        check_frame(frame)
        x = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device).permute(2, 0, 1)[None].float() / 255.0
        if self.input_size is not None and x.shape[-2:] != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        if self.streamer is not None:
            logits = self.streamer.step(x)
        else:
            logits = self.net(to_network(x, self.dtype)).float()
        if logits.shape[-2:] != frame.shape[:2]:
            logits = F.interpolate(logits, size=frame.shape[:2], mode="bilinear", align_corners=False)
        labels = logits[0].argmax(0).to(torch.uint8).cpu().numpy()
        return SegmentationOutput(labels, logits[0].softmax(0), {"latency_s": time.perf_counter() - start})


def network_spec(params: TrackerParams) -> NetworkSpec:
    """Where the weights are and how to build the network (frames are normalised by the segmenter)."""
    if not params.get("net_path", None):
        raise LMANetWeightsError(
            f"lmanet parameters '{params.get('param_name', '?')}' name no weights: set net_path (--set net_path=PATH)"
        )
    return NetworkSpec(
        str(params.net_path),
        image_format="rgb",
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        constructor=params.get("constructor", None),
        constructor_kwargs=dict(params.get("constructor_kwargs", {})),
        channels_last=False,
        precision=str(params.get("precision", "fp32")),
    )


def _load_lmanet(
    spec: NetworkSpec, device: torch.device, hint: str | None = None, private: bool = False
) -> torch.nn.Module:
    """The network of ``spec``; a file that is not an LMANet checkpoint is one :class:`LMANetWeightsError` line."""
    from ltr_ext.admin.checkpoint import CheckpointError
    from ltr_ext.admin.loading import StateDictMismatch

    try:
        net = read_network(spec, device) if private else load_network(spec, device)
    except NetworkNotFoundError as error:
        raise LMANetWeightsError(f"net_path: {error}" + (f"; {hint}" if hint else "")) from None
    except CheckpointError as error:
        raise LMANetWeightsError(f"net_path: {error}") from None
    except StateDictMismatch as error:
        raise LMANetWeightsError(f"net_path: {error.summary()}") from None
    if not isinstance(net, (LMANet, SingleFrameNet)):
        raise LMANetWeightsError(
            f"net_path: {spec.resolve()} holds a {type(net).__name__}, not an LMANet or its single-frame network"
        )
    return net


def build_segmenter(params: TrackerParams) -> LMANetSegmenter:
    """The segmenter of ``params`` with its network loaded strictly from ``params.net_path``."""
    device = select_device(params.get("use_gpu", True))
    spec = network_spec(params)
    dtype = spec.dtype(device)
    # a cast or a changed memory read needs a network of its own, not the loader's shared one
    reading_changed = any(params.get(key, None) is not None for key in ("window", "attention"))
    private = dtype != torch.float32 or reading_changed
    net = _load_lmanet(spec, device, params.get("weights_hint", None), private)
    memory = params.get("memory_size", None)
    if memory is not None and not hasattr(net, "forward_clip"):
        # running it anyway would give the single-frame baseline under LMANet's name
        raise LMANetWeightsError(
            f"net_path: {spec.resolve()} is a single-frame network (no memory), but parameters "
            f"'{params.get('param_name', '?')}' run LMANet with a memory of {memory} frames: give an LMANet "
            f"checkpoint (run_training lmanet ... --set stage=1|2), or use the single-frame parameter set "
            f"(e.g. lite0_camvid_single) for this file"
        )
    return LMANetSegmenter(net, params, device, dtype, owned=private)
