"""CPU inference copies of networks: folded BatchNorms, prepacked oneDNN convolutions, fused ReLUs.

Eager PyTorch reorders every convolution's weights into oneDNN's blocked layout on every call and
runs each ReLU and residual add as a separate pass over the activations. For inference on the CPU
:func:`prepare_cpu_inference` returns a copy of a network in which

- eval-mode BatchNorms are folded into their convolutions (:mod:`ltr_ext.models.fold_batchnorm`),
- every ``nn.Conv2d`` is a :class:`PrepackedConv2d` (weights reordered once per input shape),
- a ReLU that directly follows a convolution in an ``nn.Sequential`` runs inside it, and
- modules with a registered fused form (:data:`FUSED_FORMS`; the ResNet bottleneck here, the RTS
  decoder's residual block in its module) run their last convolution, residual add and ReLU as one
  oneDNN call.

The values are those of the original network up to float rounding (oneDNN runs the same kernels).
The oneDNN calls are the ones ``torch.compile`` emits for CPU convolutions; where they are missing,
or for inputs they do not take (gradients on, not float32 / bfloat16 matching the weights on the
CPU), the modules fall back to ``F.conv2d``. A copy cast with ``.to(torch.bfloat16)`` runs bf16 oneDNN
convolutions (the weights are repacked per dtype). The copy is for inference only: its BatchNorms are gone.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .backbone.resnet_mrcnn import Bottleneck, ResNetLevels
from .fold_batchnorm import fold_batchnorm


def onednn_available() -> bool:
    """Whether this PyTorch build has the oneDNN convolution ops used here."""
    mkldnn = torch.ops.mkldnn
    try:
        return torch.backends.mkldnn.is_available() and all(
            hasattr(mkldnn, name) for name in ("_convolution_pointwise", "_reorder_convolution_weight")
        )
    except (AttributeError, RuntimeError):
        return False


#: input dtypes of the oneDNN path (the weights must have the same dtype; bf16 for native-bf16 CPUs)
_FAST_DTYPES = (torch.float32, torch.bfloat16)


class PrepackedConv2d(nn.Module):
    """A ``Conv2d`` (with an optional fused ReLU) running on weights prepacked for oneDNN."""

    _MAX_SHAPES = 4

    def __init__(self, conv: nn.Conv2d, relu: bool = False) -> None:
        super().__init__()
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError("PrepackedConv2d needs numeric zero padding")
        self.weight = nn.Parameter(conv.weight.detach().clone(), requires_grad=False)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
        # the Conv2d attributes other code reads (kernel_size, channels, ...), as tuples
        self.stride, self.padding, self.dilation = tuple(conv.stride), tuple(conv.padding), tuple(conv.dilation)
        self.kernel_size, self.groups = tuple(conv.kernel_size), conv.groups
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.relu = relu
        self._packed: dict[tuple[int, ...], torch.Tensor] = {}

    def _fast(self, x: torch.Tensor) -> bool:
        return (
            x.device.type == "cpu"
            and x.dtype in _FAST_DTYPES
            and x.dtype == self.weight.dtype
            and x.dim() == 4
            and self.weight.device.type == "cpu"
            and not torch.is_grad_enabled()
        )

    def packed(self, shape: torch.Size) -> torch.Tensor:
        # keyed by dtype too: ``module.to(torch.bfloat16)`` casts the weights, not the packed copies
        key = (*shape, self.weight.dtype)
        if key not in self._packed:
            if len(self._packed) >= self._MAX_SHAPES:
                self._packed.pop(next(iter(self._packed)))
            self._packed[key] = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight, list(self.padding), list(self.stride), list(self.dilation), self.groups, list(shape)
            )
        return self._packed[key]

    def _pointwise(self, x: torch.Tensor, unary: str) -> torch.Tensor:
        return torch.ops.mkldnn._convolution_pointwise(
            x,
            self.packed(x.shape),
            self.bias,
            list(self.padding),
            list(self.stride),
            list(self.dilation),
            self.groups,
            unary,
            [None],
            "",
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._fast(x):
            y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
            return F.relu(y) if self.relu else y
        return self._pointwise(x, "relu" if self.relu else "none")

    def conv_relu(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(conv(x))`` in one call."""
        return self._pointwise(x, "relu") if self._fast(x) else F.relu(self(x))

    def add_relu(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        """``relu(conv(x) + other)`` in one call."""
        if not self._fast(x) or self.relu or other.dtype != x.dtype:
            return F.relu(self(x) + other)
        return torch.ops.mkldnn._convolution_pointwise(
            x,
            other,
            self.packed(x.shape),
            self.bias,
            list(self.padding),
            list(self.stride),
            list(self.dilation),
            self.groups,
            "add",
            1.0,
            "relu",
            [None],
            "",
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, relu={self.relu}"
        )


#: module type -> builder of its fused inference form (given the module with its BatchNorms folded;
#: returns None where the module's structure does not allow it)
FUSED_FORMS: dict[type, Callable[[nn.Module], nn.Module | None]] = {}


def register_fused_form(module_type: type) -> Callable:
    """Decorator of a builder ``module -> fused module or None`` for ``module_type`` instances."""

    def register(builder: Callable[[nn.Module], nn.Module | None]) -> Callable:
        FUSED_FORMS[module_type] = builder
        return builder

    return register


def conv_relu(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``relu(conv(x))``, in one oneDNN call where ``conv`` is a :class:`PrepackedConv2d`."""
    return conv.conv_relu(x) if isinstance(conv, PrepackedConv2d) else F.relu(conv(x))


class FusedBottleneck(nn.Module):
    """Inference form of a ResNet bottleneck whose BatchNorms are folded (conv1..3, downsample)."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.conv1 = PrepackedConv2d(block.conv1, relu=True)
        self.conv2 = PrepackedConv2d(block.conv2, relu=True)
        self.conv3 = PrepackedConv2d(block.conv3)
        self.downsample = block.downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.conv3.add_relu(self.conv2(self.conv1(x)), shortcut)


@register_fused_form(Bottleneck)
def _fused_bottleneck(block: nn.Module) -> nn.Module | None:
    folded = all(isinstance(getattr(block, f"bn{i}"), nn.Identity) for i in (1, 2, 3))
    return FusedBottleneck(block) if folded else None


def _fuse_resnet_stem(module: nn.Module) -> None:
    """``relu(bn1(conv1(x)))`` of a ResNet stem with ``bn1`` folded -> one call."""
    if isinstance(module, ResNetLevels) and isinstance(module.bn1, nn.Identity) and type(module.conv1) is nn.Conv2d:
        module.conv1 = PrepackedConv2d(module.conv1, relu=True)
        module.relu = nn.Identity()


def _fuse_sequential_relus(seq: nn.Sequential) -> None:
    """Conv2d, [Identity...], ReLU -> PrepackedConv2d(relu), Identity..."""
    names = list(seq._modules)
    for i, name in enumerate(names):
        if type(seq._modules[name]) is not nn.Conv2d:
            continue
        j = i + 1
        while j < len(names) and isinstance(seq._modules[names[j]], nn.Identity):
            j += 1
        if j < len(names) and type(seq._modules[names[j]]) is nn.ReLU:
            seq._modules[name] = PrepackedConv2d(seq._modules[name], relu=True)
            seq._modules[names[j]] = nn.Identity()


def _replace(module: nn.Module, make: Callable[[nn.Module], nn.Module | None]) -> None:
    """Replace children (depth first, parents before children) by ``make(child)`` where it is not None."""
    for name, child in list(module.named_children()):
        replacement = make(child)
        if replacement is not None:
            setattr(module, name, replacement)
        else:
            _replace(child, make)


def _fused_form(module: nn.Module) -> nn.Module | None:
    builder = FUSED_FORMS.get(type(module))
    return builder(module) if builder is not None else None


def _prepacked(module: nn.Module) -> nn.Module | None:
    plain = type(module) is nn.Conv2d and module.padding_mode == "zeros" and not isinstance(module.padding, str)
    return PrepackedConv2d(module) if plain else None


def prepare_cpu_inference(model: nn.Module, inplace: bool = False) -> nn.Module:
    """An inference copy of ``model`` (eval mode) for the CPU; see the module docstring.

    Returns the BatchNorm-folded copy unchanged when oneDNN's ops are not available.
    """
    model, _ = fold_batchnorm(model, inplace=inplace)
    if not onednn_available():
        return model
    _replace(model, _fused_form)
    for module in list(model.modules()):
        _fuse_resnet_stem(module)
        if isinstance(module, nn.Sequential):
            _fuse_sequential_relus(module)
    _replace(model, _prepacked)
    return model
