"""Fold eval-mode BatchNorm layers into the convolutions that feed them (inference only).

``bn(conv(x)) = conv'(x)`` with ``w' = w * g / sqrt(v + eps)`` per output channel and
``b' = (b - m) * g / sqrt(v + eps) + beta``: the same function up to float rounding, one pass
over the activations fewer per pair. A pair is folded only where the data flow is known to be
``conv -> bn``: adjacent entries of an ``nn.Sequential``, or the named pairs of the module types
in :data:`NAMED_PAIRS` (ResNet stems and blocks; names alone prove nothing: ERFNet's downsampler
has a ``conv`` and a ``bn`` with a max-pool concatenated in between). The folded BatchNorm
becomes ``nn.Identity``, so the module's own ``forward`` runs unchanged.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torchvision.models.resnet as tv_resnet

from .backbone.resnet_mrcnn import Bottleneck, ResNetLevels

_PAIRS_3 = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))

#: module type -> (conv, bn) child names whose forward computes ``bn(conv(x))``
NAMED_PAIRS: dict[type, tuple[tuple[str, str], ...]] = {
    Bottleneck: _PAIRS_3,
    ResNetLevels: (("conv1", "bn1"),),
    tv_resnet.Bottleneck: _PAIRS_3,
    tv_resnet.BasicBlock: _PAIRS_3[:2],
    tv_resnet.ResNet: (("conv1", "bn1"),),
}


def _fold_pair(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    with torch.no_grad():
        conv.weight.mul_(scale.view(-1, 1, 1, 1))
        new_bias = (bias - bn.running_mean) * scale + bn.bias.detach()
        if conv.bias is None:
            conv.bias = nn.Parameter(new_bias)
        else:
            conv.bias.copy_(new_bias)


def _named_pairs(module: nn.Module) -> tuple[tuple[str, str], ...]:
    for module_type, pairs in NAMED_PAIRS.items():
        if isinstance(module, module_type):
            return pairs
    return ()


def _pairs(module: nn.Module) -> list[tuple[str, str]]:
    """Names ``(conv, bn)`` of the foldable pairs among ``module``'s direct children."""
    children = dict(module.named_children())
    if isinstance(module, nn.Sequential):
        names = list(children)
        candidates = list(zip(names, names[1:]))
    else:
        candidates = [pair for pair in _named_pairs(module) if all(name in children for name in pair)]
    return [
        (a, b)
        for a, b in candidates
        if type(children[a]) is nn.Conv2d
        and type(children[b]) is nn.BatchNorm2d
        and children[a].out_channels == children[b].num_features
    ]


def fold_batchnorm(model: nn.Module, inplace: bool = False) -> tuple[nn.Module, int]:
    """A copy of ``model`` (eval mode) with its conv -> BatchNorm pairs folded; returns (model, pairs folded).

    Raises ``ValueError`` for a model in training mode: its BatchNorms use batch statistics then.
    """
    if model.training:
        raise ValueError("fold_batchnorm needs a model in eval mode (BatchNorm running statistics)")
    model = model if inplace else copy.deepcopy(model)
    folded = 0
    for module in list(model.modules()):
        for conv_name, bn_name in _pairs(module):
            conv, bn = getattr(module, conv_name), getattr(module, bn_name)
            if not bn.track_running_stats or bn.running_mean is None or not bn.affine:
                continue
            _fold_pair(conv, bn)
            setattr(module, bn_name, nn.Identity())
            folded += 1
    return model, folded
