"""The RTS network's per-frame parts run by onnxruntime (tracker parameter ``backend='onnx'``).

:func:`apply_backend` is the one hook the tracker needs where it prepares its network: it returns
the network itself for ``backend='torch'`` (the default) and an :class:`OnnxRTSNet` for
``backend='onnx'``. That object has the methods the tracker, its instance branch and re-detection
call; the backbone, the branches' feature convolutions, the two mask encoders and the
segmentation head (filter tau applied, encoded instance scores added, decoder) run as ONNX graphs
(fp32, CPU execution provider); the few-shot learners, the instance filter kappa's application and
its initializer stay in PyTorch (docs/export.md A: why). The graphs are read from the tracker
parameter ``onnx_dir`` or, without it, exported on first use into
``<cache_dir>/onnx/<sha256 of the network file>_<crop h>x<crop w>`` (docs/export.md C).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ltr_ext.admin.export_onnx import (
    EXPORTABLE,
    LAYERS,
    MANIFEST,
    OnnxExportError,
    export_network,
    file_sha256,
    read_manifest,
)

from ..params import TrackerParams

#: the parts of ``EXPORTABLE`` that an RTS network is exported with (all RTSNets share them)
EXPORT = EXPORTABLE["rts_small"]


class OnnxBackendError(OnnxExportError):
    """The ONNX backend cannot run with these parameters or this folder (one line)."""


def _to_numpy(x: torch.Tensor) -> np.ndarray:
    # the tracker's crops are channels-last (NetworkSpec.channels_last); onnxruntime reads plain NCHW
    return x.detach().to("cpu", torch.float32).contiguous().numpy()


class _Session:
    """One onnxruntime session with named inputs, returning torch tensors on ``device``."""

    def __init__(self, path: Path, inputs: Sequence[str], outputs: Sequence[str], device: torch.device, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        # as many threads as torch uses, so that a same-run comparison compares the graphs, not the pools
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs, self.outputs, self.device = list(inputs), list(outputs), device

    def __call__(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        feed = {name: _to_numpy(t) for name, t in zip(self.inputs, tensors)}
        return [torch.from_numpy(out).to(self.device) for out in self.session.run(self.outputs, feed)]


class _Encoder:
    """Callable like ``MaskEncoder``: ``(frames, seq, H, W)`` maps -> ``(frames, seq, 16, h, w)`` encodings."""

    def __init__(self, session: _Session, with_weights: bool) -> None:
        self.session, self.has_weights = session, with_weights

    def __call__(self, maps: torch.Tensor, with_weights: bool = True):
        frames, seq = maps.shape[:2]
        outs = self.session(maps.reshape(-1, 1, *maps.shape[-2:]))
        outs = [o.view(frames, seq, *o.shape[-3:]) for o in outs]
        if with_weights and not self.has_weights:
            raise OnnxBackendError("the exported score encoder has no sample-weight output")
        return (outs[0], outs[1]) if with_weights else outs[0]


class OnnxRTSNet:
    """Drop-in for the RTS network's methods used at tracking time, with the network parts in onnxruntime.

    ``net`` (the loaded PyTorch network) keeps the learners and their sizes (``target_model``,
    ``classifier``, ``optimize_segmentation_filter``, ``learn_classifier``, ``classify``).
    """

    def __init__(self, folder: str | Path, net: nn.Module, device: torch.device | str = "cpu", threads: int = 0):
        folder = Path(folder)
        manifest = read_manifest(folder)
        missing = [part.name for part in EXPORT.parts if part.name not in manifest["parts"]]
        if missing:
            raise OnnxBackendError(f"{folder / MANIFEST}: parts {missing} missing; export again")
        device = torch.device(device)
        threads = threads or torch.get_num_threads()
        self.folder, self.manifest, self.torch_net = folder, manifest, net
        self.sample_size = tuple(manifest["sample_size"])
        self.sessions = {
            name: _Session(folder / entry["file"], entry["inputs"], entry["outputs"], device, threads)
            for name, entry in manifest["parts"].items()
        }
        self.target_model, self.classifier = net.target_model, net.classifier
        self.label_encoder = _Encoder(self.sessions["label_encoder"], with_weights=True)
        self.clf_encoder = _Encoder(self.sessions["clf_encoder"], with_weights=False)

    # ----- exported parts ----------------------------------------------------------------------
    def extract_backbone_features(self, images: torch.Tensor, layers=None) -> dict[str, torch.Tensor]:
        wanted = list(layers or LAYERS[::-1])
        self._check_size(images)
        if set(wanted) <= {"layer3"}:
            (layer3,) = self.sessions["backbone_layer3"](images)
            return {"layer3": layer3}
        maps = dict(zip(LAYERS, self.sessions["backbone"](images)))
        return {name: maps[name] for name in wanted}

    def extract_target_model_features(self, layer3: torch.Tensor) -> torch.Tensor:
        return self.sessions["target_features"](layer3)[0]

    def extract_classification_feat(self, layer3: torch.Tensor) -> torch.Tensor:
        return self.sessions["clf_features"](layer3)[0]

    def segment_target(
        self,
        tau: torch.Tensor,
        features: torch.Tensor,
        backbone: dict[str, torch.Tensor],
        encoded_scores: torch.Tensor,
        image_size,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits ``(1, 1, H, W)`` and the decoder input of one frame (one sequence, as the tracker calls it)."""
        if tuple(image_size) != self.sample_size:
            raise OnnxBackendError(
                f"{self.folder}: exported for {self.sample_size[0]}x{self.sample_size[1]} crops, "
                f"asked for {image_size[0]}x{image_size[1]}; export with this image_sample_size"
            )
        logits, fused = self.sessions["segment"](
            tau,
            features.reshape(-1, *features.shape[-3:]),
            encoded_scores.reshape(-1, *encoded_scores.shape[-3:]),
            *(backbone[name] for name in LAYERS),
        )
        return logits, fused[:, None]

    # ----- learners and filter application: PyTorch (docs/export.md A) -----------------------------
    def optimize_segmentation_filter(self, *args, **kwargs):
        return self.torch_net.optimize_segmentation_filter(*args, **kwargs)

    def learn_classifier(self, *args, **kwargs):
        return self.torch_net.learn_classifier(*args, **kwargs)

    def classify(self, kappa: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return self.torch_net.classify(kappa, features)

    def _check_size(self, images: torch.Tensor) -> None:
        if tuple(images.shape[-2:]) != self.sample_size:
            raise OnnxBackendError(
                f"{self.folder}: exported for {self.sample_size[0]}x{self.sample_size[1]} crops, "
                f"got {images.shape[-2]}x{images.shape[-1]}; export with this image_sample_size"
            )


# ----- where the graphs come from -------------------------------------------------------------------------
def default_onnx_dir(network_file: Path, sample_size: tuple[int, int], sha256: str | None = None) -> Path:
    """``<cache_dir>/onnx/<sha256 of the network file>_<h>x<w>``: one export per network file and crop size."""
    from ...settings import env_settings

    digest = sha256 or file_sha256(network_file)
    return Path(env_settings().cache_dir).expanduser() / "onnx" / f"{digest}_{sample_size[0]}x{sample_size[1]}"


def _export_into(folder: Path, params: TrackerParams, network_file: Path, sha256: str) -> None:
    """Export into a temporary sibling and rename it to ``folder``: a crash never leaves a half folder,
    and of two processes exporting at once the first rename wins (the other's copy is dropped)."""
    from ...evaluation.network_loading import read_network

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        plain = dataclasses.replace(params.net, cpu_inference=False, channels_last=False, precision="fp32")
        net = read_network(plain, "cpu")
        export_network(net, EXPORT, tuple(params.image_sample_size), tmp, sha256, str(network_file))
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@functools.lru_cache(maxsize=16)
def _network_sha256(path: Path, mtime_ns: int, size: int) -> str:
    # keyed on the file's version: every object of every sequence asks again, a rewritten file is hashed anew
    return file_sha256(path)


def onnx_folder(params: TrackerParams) -> Path:
    """The folder of exported graphs for ``params``: ``onnx_dir`` (checked against the network file),
    else the cache folder, exported there on first use."""
    network_file = params.net.resolve()
    if not network_file.is_file():
        raise OnnxBackendError(f"{network_file}: network file not found (params.net)")
    stat = network_file.stat()
    sha256 = _network_sha256(network_file.resolve(), stat.st_mtime_ns, stat.st_size)
    given = params.get("onnx_dir", None)
    sample_size = tuple(int(v) for v in params.image_sample_size)
    folder = Path(given).expanduser() if given else default_onnx_dir(network_file, sample_size, sha256)
    if not given and not (folder / MANIFEST).is_file():
        _export_into(folder, params, network_file, sha256)
    manifest = read_manifest(folder)
    if manifest.get("network_sha256") != sha256:
        raise OnnxBackendError(
            f"onnx_dir {folder}: exported from another network file than {network_file}; export it again"
        )
    if tuple(manifest.get("sample_size", ())) != sample_size:
        raise OnnxBackendError(
            f"onnx_dir {folder}: exported for crops {manifest.get('sample_size')}, "
            f"the parameters use image_sample_size {list(sample_size)}"
        )
    return folder


def _onnx(net: nn.Module, params: TrackerParams) -> OnnxRTSNet:
    try:
        import onnxruntime  # noqa: F401  (only checks that it is installed)
    except ImportError:
        raise OnnxBackendError("backend='onnx' needs onnxruntime: pip install 'pytracking-ext[onnx]'") from None
    device = next(net.parameters(), torch.zeros(0)).device
    if params.net.dtype(device) != torch.float32:
        raise OnnxBackendError(
            f"backend='onnx' runs fp32; the network's precision '{params.net.precision}' resolves to bf16 here"
        )
    folder = onnx_folder(params).resolve()
    # One set of sessions per loaded network and folder, kept for the process like the loader's own
    # cache (network_loading): the objects of a multi-object sequence share the network and so these.
    # The entry holds the network, so its id cannot be reused while the entry exists.
    key = (id(net), folder, str(device), torch.get_num_threads())
    with _LOCK:
        if key not in _SESSIONS:
            _SESSIONS[key] = OnnxRTSNet(folder, net, device)
        return _SESSIONS[key]


_SESSIONS: dict[tuple, OnnxRTSNet] = {}
_LOCK = threading.Lock()


#: tracker parameter ``backend`` -> how the loaded network is wrapped
BACKENDS: dict[str, Callable[[nn.Module, TrackerParams], Any]] = {
    "torch": lambda net, params: net,
    "onnx": _onnx,
}


def apply_backend(net: nn.Module, params: TrackerParams) -> Any:
    """The object the tracker calls for its network: ``net`` itself or its ONNX drop-in (parameter ``backend``)."""
    name = params.get("backend", "torch")
    if name not in BACKENDS:
        raise OnnxBackendError(f"unknown backend '{name}' (tracker parameter backend); choose from {sorted(BACKENDS)}")
    return BACKENDS[name](net, params)
