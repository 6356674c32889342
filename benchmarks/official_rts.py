"""Load the official PyTracking RTS tracker (rts50 settings) on CPU, for same-run speed comparisons.

The official code (visionml/pytracking) targets an older torch with a compiled CUDA Precise RoI
Pooling extension. :func:`load_official_rts` makes an *unmodified* checkout run with torch 2.x on
CPU by applying runtime shims only (``sys.modules`` injection and monkeypatching after import); the
only files it may write are the two untracked ``local.py`` settings files the official code insists
on, and only where they are missing. None of the shims changes the numbers the tracker computes.

    from benchmarks.official_rts import load_official_rts
    tracker = load_official_rts(Path("/tmp/pytracking"), Path("rts50_seed0.pth"))
    out = tracker.initialize(rgb_uint8, {"init_bbox": [x, y, w, h], "init_mask": mask_hw_uint8})
    out = tracker.track(next_rgb_uint8, {"previous_output": out})   # out["target_bbox"] = [x, y, w, h]

``weights`` is a bare state dict of the rts50 network (e.g. made by
``shared/fixtures/synth_weights.py``). The official code imports ``pandas`` (not a dependency of
this project): install it outside the venv, e.g. ``pip install --target /tmp/ptdeps --no-deps
pandas``, and run with ``PYTHONPATH=/tmp/ptdeps``.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

# Keyword arguments the official rts50 checkpoint's constructor was saved with (the network built in
# ltr/train_settings/rts/rts50.py), with backbone_pretrained=False as pytracking's loader forces it.
# clf_filter_size and fusion_type come from the parameter file's NetWithBackbone kwargs.
RTS50_CONSTRUCTOR = "steepest_descent_resnet50_with_clf_encoder"
RTS50_KWARGS: dict[str, Any] = dict(
    filter_size=3,
    num_filters=16,
    optim_iter=5,
    backbone_pretrained=False,
    out_feature_dim=512,
    frozen_backbone_layers=["conv1", "bn1", "layer1"],
    label_encoder_dims=(16, 32, 64),
    use_bn_in_label_enc=False,
    clf_feat_blocks=0,
    final_conv=True,
    backbone_type="mrcnn",
    clf_filter_size=4,
    clf_score_act="relu",
    clf_hinge_threshold=0.05,
    clf_activation_leak=0.1,
    clf_with_extractor=True,
    clf_enc_input="sc",
)

PRROI_MODULE = "ltr.external.PreciseRoIPooling.pytorch.prroi_pool"


def _new_module(name: str, **attrs: Any) -> types.ModuleType:
    """Register an empty module (with ``attrs``) under ``name`` in ``sys.modules``."""
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def _importable(name: str) -> bool:
    """Whether ``name`` imports (a real package is preferred over a stub)."""
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False


def _unavailable(name: str) -> Callable[..., Any]:
    """Placeholder for a name that is imported but never used on the RTS code path."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{name} is a stub installed by official_rts.py; it is not usable")

    return fail


def _install_import_stubs() -> None:
    """Stub modules the official code imports at module level but RTS never calls.

    Real packages are kept when installed; only missing ones are stubbed.
    """
    if not _importable("jpeg4py"):  # training image loader
        _new_module("jpeg4py", JPEG=_unavailable("jpeg4py.JPEG"))
    if not _importable("visdom"):  # debug visualisation (debug is off)
        _new_module("visdom", Visdom=_unavailable("visdom.Visdom"))
        _new_module("visdom.server")
    if not _importable("timm.models.layers"):  # Swin backbone, not part of rts50
        names = ("DropPath", "to_2tuple", "trunc_normal_")
        layers = _new_module("timm.models.layers", **{n: _unavailable(n) for n in names})
        models = _new_module("timm.models", layers=layers)
        _new_module("timm", models=models)


def _patch_torchvision() -> None:
    """torchvision >= 0.13 dropped ``resnet.model_urls``; the backbones only import it."""
    import torchvision.models.resnet as tv_resnet

    if not hasattr(tv_resnet, "model_urls"):
        tv_resnet.model_urls = {}


def _prroi_module_class() -> type[nn.Module]:
    """A ``PrRoIPool2D(pooled_h, pooled_w, spatial_scale)`` module backed by our exact PyTorch integral."""
    from ltr_ext.models.rts.prroi_pool import prroi_pool2d

    class PrRoIPool2D(nn.Module):
        def __init__(self, pooled_height: int, pooled_width: int, spatial_scale: float) -> None:
            super().__init__()
            self.output_size = (int(pooled_height), int(pooled_width))
            self.spatial_scale = float(spatial_scale)

        def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
            """``rois`` (R, 5): batch index, x0, y0, x1, y1 in input-image coordinates."""
            return prroi_pool2d(features, rois, self.output_size, self.spatial_scale)

    return PrRoIPool2D


def _install_prroi_pool() -> None:
    """Replace the compiled CUDA extension (a git submodule, usually absent) by our CPU version.

    Registered in ``sys.modules`` so it wins even over a built submodule.
    """
    pool_class = _prroi_module_class()
    package = "ltr.external.PreciseRoIPooling"
    leaf = _new_module(PRROI_MODULE, PrRoIPool2D=pool_class)
    middle = _new_module(package + ".pytorch", prroi_pool=leaf, __path__=[])
    _new_module(package, pytorch=middle, __path__=[])


def _patch_tensorlist() -> None:
    """Make ``TensorList`` raise AttributeError for dunder lookups.

    Its ``__getattr__`` forwards any name torch.Tensor has, so torch 2.x probes such as
    ``__torch_function__`` get a callable and ``torch.autograd.grad`` rejects the list.
    """
    from pytracking.libs.tensorlist import TensorList

    original = TensorList.__getattr__
    if getattr(original, "_dunder_safe", False):
        return

    def __getattr__(self: Any, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return original(self, name)

    __getattr__._dunder_safe = True  # type: ignore[attr-defined]
    TensorList.__getattr__ = __getattr__


def _ensure_local_settings(checkout: Path) -> None:
    """Write the two ``local.py`` files the official code imports, where missing (paths unused here)."""
    pytracking_local = checkout / "pytracking" / "evaluation" / "local.py"
    if not pytracking_local.exists():
        pytracking_local.write_text(
            "from pytracking.evaluation.environment import EnvSettings\n\n\n"
            "def local_env_settings():\n"
            "    return EnvSettings()  # written by official_rts.py; defaults are enough for tracking\n"
        )
    ltr_local = checkout / "ltr" / "admin" / "local.py"
    if not ltr_local.exists():
        ltr_local.write_text(
            "class EnvironmentSettings:\n"
            '    """Written by official_rts.py; training paths are not needed for tracking."""\n\n'
            "    def __init__(self):\n"
            "        self.workspace_dir = ''\n"
            "        self.tensorboard_dir = ''\n"
            "        self.pretrained_networks = ''\n"
        )


def _apply_shims(checkout: Path) -> None:
    """All runtime patches, in the order the imports need them."""
    checkout = checkout.resolve()
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    _ensure_local_settings(checkout)
    _install_import_stubs()
    _patch_torchvision()
    _install_prroi_pool()
    _patch_tensorlist()


def _build_network(weights: Path, extra_kwargs: dict[str, Any], device: str) -> nn.Module:
    """The official rts50 network from its official constructor, strictly loaded from a bare state dict."""
    rts_net = importlib.import_module("ltr.models.rts.rts_net")
    kwargs = {**RTS50_KWARGS, **extra_kwargs, "backbone_pretrained": False}
    net = getattr(rts_net, RTS50_CONSTRUCTOR)(**kwargs)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.to(device).eval()


def _official_parameters(weights: Path, device: str) -> Any:
    """rts50 parameters with ``use_gpu=False``, debug off and ``params.net`` holding our loaded network."""
    from pytracking.features.net_wrappers import NetWrapper
    from pytracking.parameter.rts import rts50

    # The parameter file loads rts50.pth / sta.pth.tar from env paths as it builds the wrappers;
    # suppress that and fill in the network ourselves.
    original_load = NetWrapper.load_network
    NetWrapper.load_network = lambda self: None
    try:
        params = rts50.parameters()
    finally:
        NetWrapper.load_network = original_load

    params.use_gpu = False
    params.device = device
    params.debug = 0
    params.visualization = False
    for wrapper in (params.net, params.sta_net):  # sta_net is only used without an init mask
        wrapper.use_gpu = False
    params.net.net = _build_network(weights, params.net.net_kwargs, device)
    # The tracker calls net.initialize() on its first frame, which would reload from net_path.
    params.net.initialize = lambda *args, **kwargs: None
    return params


class OfficialRTS:
    """Thin adapter: our initialize/track dicts in, the official tracker's output dicts out."""

    def __init__(self, tracker: Any) -> None:
        self.tracker = tracker
        self._last: dict | None = None

    def initialize_features(self) -> None:
        """The network is loaded in :func:`load_official_rts`; kept for interface parity with ours."""

    def initialize(self, image: np.ndarray, info: dict) -> dict:
        """``info``: ``init_bbox`` [x, y, w, h] and ``init_mask`` (H, W) with the target > 0."""
        box = [float(v) for v in info["init_bbox"]]
        official_info: dict[str, Any] = {"init_bbox": box}
        if info.get("init_mask") is not None:
            # The official tracker expects a 0/1 mask (it maps it to +-100 logits).
            official_info["init_mask"] = (np.asarray(info["init_mask"]) > 0).astype(np.uint8)
        out = dict(self.tracker.initialize(image, official_info) or {})
        out.setdefault("target_bbox", box)  # as the evaluation framework reports frame 1
        self._last = out
        return out

    def track(self, image: np.ndarray, info: dict | None = None) -> dict:
        """``info["previous_output"]``: the dict returned for the previous frame (falls back to ours)."""
        previous = (info or {}).get("previous_output")
        if not previous or "segmentation_raw" not in previous:
            previous = self._last
        out = self.tracker.track(image, {"previous_output": previous})
        out["target_bbox"] = [float(v) for v in out["target_bbox"]]
        self._last = out
        return out


def load_official_rts(checkout: Path, weights: Path, device: str = "cpu") -> OfficialRTS:
    """The official RTS tracker of ``checkout`` with rts50 parameters and the state dict ``weights``."""
    _apply_shims(Path(checkout))
    params = _official_parameters(Path(weights), device)
    from pytracking.tracker.rts import RTS

    return OfficialRTS(RTS(params))
