"""Networks at inference time, for every tracker and segmenter: where the weights are, which device, loading once.

A parameter module describes a network with a :class:`NetworkSpec` (no file is touched then); the
tracker or segmenter calls :func:`load_network` when it first needs the network. Relative paths are
looked up under the ``network_path`` setting (env ``PYTRACKING_NETWORK_PATH``). Reading a checkpoint
always goes through :func:`ltr_ext.admin.loading.load_network` (safe loading: no pickled code runs).

:func:`load_network` caches per process, keyed by (file, modification time, device, constructor and
its arguments, memory format, CPU preparation): every object of a multi-object sequence shares one
copy, and a rewritten file is read again. :func:`read_network` is the same without the cache, for
callers that own their copy (EVS: one set of networks per segmenter, built by closures over its parameters).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ltr_ext.models.cpu_inference import prepare_cpu_inference

from ..errors import PytrackingError
from ..registry import resolve
from .precision import resolve_precision

_CACHE: dict[tuple, nn.Module] = {}
_LOCK = threading.Lock()


class NetworkNotFoundError(PytrackingError, FileNotFoundError):
    """The weights file named by a parameter set does not exist."""


def resolve_network_path(path: str | Path, network_dir: str | Path | None = None) -> Path:
    """``path`` itself when absolute, else under ``network_dir`` (default: the ``network_path`` setting)."""
    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        if network_dir is None:
            from ..settings import env_settings  # read at load time, so a changed environment counts

            network_dir = env_settings().network_path
        resolved = Path(network_dir).expanduser() / resolved
    return resolved


@dataclass
class NetworkSpec:
    """Weights file and input convention of an inference network.

    ``path`` is absolute, or relative to the ``network_path`` setting (env ``PYTRACKING_NETWORK_PATH``).
    ``image_format``: ``'bgr255'`` flips RGB to BGR and keeps the 0-255 range, ``'rgb'`` divides by 255.
    ``constructor`` builds the network (default: the checkpoint's own record, or the architecture a
    bare state dict matches); a ``"module:attribute"`` string is imported on load.
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
    #: ``'fp32'`` (parity), ``'bf16'`` or ``'auto'`` (bf16 where the device computes it natively; see
    #: :mod:`.precision`). Each method decides which of its parts run at this precision.
    precision: str = "fp32"

    def dtype(self, device: torch.device | str) -> torch.dtype:
        """The compute dtype of this network's bf16-safe parts on ``device`` (float32 or bfloat16)."""
        return resolve_precision(self.precision, device)

    def resolve(self, network_dir: str | Path | None = None) -> Path:
        """The weights path, see :func:`resolve_network_path`."""
        return resolve_network_path(self.path, network_dir)


def select_device(use_gpu: bool) -> torch.device:
    """CUDA when asked for and present, else CPU (so parameter sets written for a GPU run anywhere)."""
    return torch.device("cuda" if use_gpu and torch.cuda.is_available() else "cpu")


def _not_found(path: Path) -> NetworkNotFoundError:
    return NetworkNotFoundError(
        f"{path}: network weights not found (set network_path / PYTRACKING_NETWORK_PATH "
        f"or give an absolute path in the parameter file)"
    )


def _constructor(spec: NetworkSpec) -> Callable[..., nn.Module] | None:
    return resolve(spec.constructor) if isinstance(spec.constructor, str) else spec.constructor


def _read(spec: NetworkSpec, path: Path, device: torch.device | str) -> nn.Module:
    """Checkpoint ``path`` built by ``spec``, in eval mode on ``device``, in the spec's memory format."""
    # imported on first load: a parameter module that only builds a spec does not pull in the checkpoint readers
    from ltr_ext.admin.loading import load_network as load_checkpoint

    net, _ = load_checkpoint(path, constructor=_constructor(spec), **spec.constructor_kwargs)
    net = net.to(device).eval()
    net = net.to(memory_format=torch.channels_last) if spec.channels_last else net
    if spec.cpu_inference and torch.device(device).type == "cpu":
        net = prepare_cpu_inference(net, inplace=True)
    return net


def read_network(spec: NetworkSpec, device: torch.device | str, network_dir: str | Path | None = None) -> nn.Module:
    """A fresh copy of the network of ``spec`` in eval mode on ``device`` (no cache).

    The weights may also be an LTR checkpoint folder (its latest epoch).
    """
    path = spec.resolve(network_dir)
    if not path.exists():
        raise _not_found(path)
    return _read(spec, path, device)


def load_network(spec: NetworkSpec, device: torch.device | str, network_dir: str | Path | None = None) -> nn.Module:
    """The network of ``spec`` in eval mode on ``device``, read once per process and weights file."""
    path = spec.resolve(network_dir)
    if not path.is_file():
        raise _not_found(path)
    key = (
        str(path.resolve()),
        path.stat().st_mtime_ns,
        str(device),
        str(spec.constructor),
        tuple(sorted(spec.constructor_kwargs.items())),
        spec.channels_last,
        spec.cpu_inference,
        spec.dtype(device),  # the resolved dtype: 'auto' and 'bf16' that both end in bf16 share one copy
    )
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _read(spec, path, device)
        return _CACHE[key]


def normalize_patches(patches: torch.Tensor, spec: NetworkSpec) -> torch.Tensor:
    """RGB 0-255 patches ``(N, 3, H, W)`` -> the input convention of ``spec``'s network.

    Generic: it reads only the spec's ``image_format`` / ``mean`` / ``std`` / ``channels_last``, which
    every backbone declares (``ltr_ext.models.backbone.BACKBONE_INPUT``).
    """
    x = patches
    if spec.image_format in ("rgb", "bgr"):
        x = x / 255.0
    if spec.image_format in ("bgr", "bgr255"):
        x = x[:, [2, 1, 0]]
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    x = (x - mean) / std
    return x.contiguous(memory_format=torch.channels_last) if spec.channels_last else x
