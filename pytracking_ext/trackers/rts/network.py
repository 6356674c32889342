"""The tracker's view of a network: where its weights are, how images are normalised, loading once.

A parameter module describes the network with a :class:`NetworkSpec` (no file is touched then);
the tracker calls :func:`load_network` in ``initialize_features``. Loaded networks are cached per
(path, device, constructor), so every object of a multi-object sequence shares one copy.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from ltr_ext.models.cpu_inference import prepare_cpu_inference

from ...errors import PytrackingError
from ...registry import resolve

_CACHE: dict[tuple, nn.Module] = {}
_LOCK = threading.Lock()


class NetworkNotFoundError(PytrackingError, FileNotFoundError):
    """The weights file named by a parameter set does not exist."""


@dataclass
class NetworkSpec:
    """Weights file and input normalisation of a tracker network.

    ``path`` is absolute, or relative to the ``network_path`` setting (env ``PYTRACKING_NETWORK_PATH``).
    ``image_format``: ``'bgr255'`` flips RGB to BGR and keeps the 0-255 range, ``'rgb'`` divides by 255.
    ``constructor`` builds the network (default: the checkpoint's own record, or the architecture a
    bare state dict matches).
    """

    path: str
    image_format: str = "bgr255"
    mean: tuple[float, float, float] = (102.9801, 115.9465, 122.7717)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    constructor: Callable[..., nn.Module] | str | None = None
    constructor_kwargs: dict[str, Any] = field(default_factory=dict)
    #: keep weights and activations in NHWC: faster convolutions on CPU and GPU, same results up to float noise
    channels_last: bool = True
    #: on the CPU, run an inference copy: BatchNorms folded, oneDNN-prepacked convolutions with fused
    #: ReLU / residual add (``ltr_ext.models.cpu_inference``); same function up to float rounding
    cpu_inference: bool = True

    def resolve(self, network_dir: str | None = None) -> Path:
        path = Path(self.path).expanduser()
        if not path.is_absolute():
            if network_dir is None:
                from ...settings import env_settings
                network_dir = env_settings().network_path
            path = Path(network_dir).expanduser() / path
        return path


def _constructor(spec: NetworkSpec) -> Callable[..., nn.Module] | None:
    return resolve(spec.constructor) if isinstance(spec.constructor, str) else spec.constructor


def load_network(spec: NetworkSpec, device: torch.device | str, network_dir: str | None = None) -> nn.Module:
    """The network of ``spec`` in eval mode on ``device`` (loaded once per process)."""
    path = spec.resolve(network_dir)
    if not path.is_file():
        raise NetworkNotFoundError(f"{path}: network weights not found (set network_path / PYTRACKING_NETWORK_PATH "
                                   f"or give an absolute path in the parameter file)")
    key = (str(path.resolve()), path.stat().st_mtime_ns, str(device), str(spec.constructor),
           tuple(sorted(spec.constructor_kwargs.items())), spec.channels_last, spec.cpu_inference)
    with _LOCK:
        if key not in _CACHE:
            from ltr_ext.admin.loading import load_network as load_checkpoint
            net, _ = load_checkpoint(path, constructor=_constructor(spec), **spec.constructor_kwargs)
            net = net.to(device).eval()
            net = net.to(memory_format=torch.channels_last) if spec.channels_last else net
            if spec.cpu_inference and torch.device(device).type == "cpu":
                net = prepare_cpu_inference(net, inplace=True)
            _CACHE[key] = net
        return _CACHE[key]


def normalize_patches(patches: torch.Tensor, spec: NetworkSpec) -> torch.Tensor:
    """RGB 0-255 patches ``(N, 3, H, W)`` -> the network's input convention."""
    x = patches
    if spec.image_format in ("rgb", "bgr"):
        x = x / 255.0
    if spec.image_format in ("bgr", "bgr255"):
        x = x[:, [2, 1, 0]]
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    x = (x - mean) / std
    return x.contiguous(memory_format=torch.channels_last) if spec.channels_last else x


def select_device(use_gpu: bool) -> torch.device:
    """CUDA when asked for and present, else CPU (so parameter sets written for a GPU run anywhere)."""
    return torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")
