"""STA: the box-to-mask network the RTS release uses for box-only initialisation (docs/rts.md C.10).

Built as the release builds ``STANet`` (``ltr/models/lwl/sta_net.py``, constructor
``steepest_descent_resnet50``), with its module names, so that the published ``sta.pth.tar`` loaded
through our strict loader fits. Unverified against the real file: the release ships no STA training
settings, and the layout below was read from the code, not from the checkpoint (docs/rts.md C.10).

Forward (``STANet.forward``): two box encoders turn the box into a stride-16 label (one conditions the
decoder, the other trains a first segmentation learner with its sample weights); the decoder gives a
coarse mask; a mask encoder turns the coarse probabilities into the label of a second learner; the
decoder again gives the refined mask. Returns ``(coarse, refined)`` logits of shape ``(frames, seq, H, W)``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from ...admin.model_constructor import model_constructor
from ..backbone.resnet_mrcnn import ResNetMRCNN
from .decoder import FEATURE_CHANNELS, LAYERS, RTSDecoder
from .label_encoder import BasicBlockNoBN, MaskEncoder
from .optim import apply_filter, linear_steepest_descent, segmentation_problem, steepest_descent
from .rts_net import FilterLearner, TargetModel

#: the name an official STA checkpoint's constructor record carries (STAHelper calls ``net.forward(image, box)``,
#: which is STANet's signature; RTSNet's box-init constructor builds a net whose forward takes the full RTS inputs)
OFFICIAL_STA_CONSTRUCTOR = "ltr.models.lwl.sta_net.steepest_descent_resnet50"

# Decoder width per level as a multiple of ``decoder_mdim`` (the release's LWL/RTS decoder).
_WIDTH_FACTORS = {"layer4": 4, "layer3": 2, "layer2": 2, "layer1": 1}


def box_label_mask(boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Filled boxes ``(N, 4)`` ``[x, y, w, h]`` in crop pixels -> ``(N, 1, H, W)`` 0/1 maps.

    Each value is truncated toward zero (the release casts with ``int``) and a negative corner is
    clipped to the crop, as the release's ``ResidualDS16FeatSWBox`` does.
    """
    masks = boxes.new_zeros((boxes.shape[0], 1, *size), dtype=torch.float32)
    for i, (x, y, w, h) in enumerate(torch.trunc(boxes.detach().float()).long().tolist()):
        masks[i, :, max(y, 0) : y + h, max(x, 0) : x + w] = 1.0
    return masks


class BoxEncoder(nn.Module):
    """The release's ``ResidualDS16FeatSWBox`` (no BatchNorm in the blocks, filled-box label):
    encode the box map to stride 16, join the learner features, one more residual block, then the
    label (conv + BatchNorm + ReLU) and the sample weights."""

    def __init__(self, dims: tuple[int, int, int, int, int], feature_dim: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(1, dims[0], 3, stride=2, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.res1 = BasicBlockNoBN(dims[0], dims[1], 2)
        self.res2 = BasicBlockNoBN(dims[1], dims[2], 2)
        self.res3 = BasicBlockNoBN(dims[2] + feature_dim, dims[3], 1)
        self.label_pred = nn.Sequential(nn.Conv2d(dims[3], dims[4], 3, padding=1), nn.BatchNorm2d(dims[4]), nn.ReLU())
        self.samp_w_pred = nn.Conv2d(dims[3], dims[4], 3, padding=1)

    def forward(
        self, boxes: torch.Tensor, features: torch.Tensor, image_size: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``boxes`` ``(frames, seq, 4)``, ``features`` ``(frames*seq, C, h, w)`` -> label and weights
        ``(frames, seq, K, h, w)``."""
        frames, seq = boxes.shape[:2]
        x = box_label_mask(boxes.reshape(-1, 4), tuple(image_size)).to(features.dtype)
        x = self.res2(self.res1(self.pool(self.conv_block(x))))
        x = self.res3(torch.cat([x, features.reshape(-1, *features.shape[-3:])], dim=1))
        label, weights = self.label_pred(x), self.samp_w_pred(x)
        return label.view(frames, seq, *label.shape[-3:]), weights.view(frames, seq, *weights.shape[-3:])


class STANet(nn.Module):
    """Backbone, box encoders, two segmentation learners, a mask encoder and one decoder for both passes."""

    def __init__(
        self,
        filter_size: int = 3,
        num_filters: int = 16,
        optim_iter: int = 5,
        optim_init_reg: float = 0.01,
        feature_dim: int = 512,
        label_encoder_dims: tuple[int, int, int, int] = (16, 32, 64, 128),
        decoder_mdim: int = 64,
    ) -> None:
        super().__init__()
        box_dims = (*label_encoder_dims, num_filters)
        self.feature_extractor = ResNetMRCNN((3, 4, 6, 3), LAYERS[::-1])
        self.target_model = TargetModel(feature_dim, filter_size, optim_init_reg, FEATURE_CHANNELS["layer3"])
        self.target_model_segm = FilterLearner(filter_size, optim_init_reg)
        widths = {layer: factor * decoder_mdim for layer, factor in _WIDTH_FACTORS.items()}
        # the decoder reads the box label and the learner's scores side by side: 2 * num_filters channels
        self.decoder = RTSDecoder(2 * num_filters, FEATURE_CHANNELS, widths)
        self.label_encoder = BoxEncoder(box_dims, feature_dim)
        self.bbox_encoder = BoxEncoder(box_dims, feature_dim)
        self.segm_encoder = MaskEncoder((*label_encoder_dims[:3], num_filters), stride=2)
        self.optim_iter = optim_iter

    def extract_backbone_features(self, images: torch.Tensor, layers=None) -> dict[str, torch.Tensor]:
        return self.feature_extractor(images, list(layers or LAYERS[::-1]))

    def _learn_and_apply(
        self, learner: nn.Module, features: torch.Tensor, label: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        """Fit a zero-initialised filter bank to ``label`` by steepest descent and apply it to ``features``."""
        k = learner.filter_size
        filt = features.new_zeros((features.shape[1], label.shape[2], features.shape[2], k, k))
        reg = learner.filter_optimizer.residual_module.filter_reg
        if torch.is_grad_enabled():
            residuals, jvp = segmentation_problem(features, label, weights, reg)
            filt, _, _ = steepest_descent(filt, residuals, jvp, self.optim_iter, create_graph=True)
        else:
            filt, _, _ = linear_steepest_descent(filt, features, label, weights, reg, self.optim_iter)
        return apply_filter(features, filt, k // 2)

    def _decode(self, box_label: torch.Tensor, scores: torch.Tensor, backbone, image_size) -> torch.Tensor:
        joined = torch.cat([box_label, scores], dim=2)
        frames, seq = joined.shape[:2]
        logits = self.decoder(joined.reshape(frames * seq, *joined.shape[-3:]), backbone, image_size)
        return logits.view(frames, seq, *logits.shape[-2:])

    def forward(self, images: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``images`` ``(frames, seq, 3, H, W)`` and boxes ``(frames, seq, 4)`` ``[x, y, w, h]`` in the
        crop -> ``(coarse, refined)`` mask logits, each ``(frames, seq, H, W)``."""
        frames, seq = images.shape[:2]
        image_size = tuple(images.shape[-2:])
        backbone = self.extract_backbone_features(images.reshape(-1, *images.shape[-3:]))
        features = self.target_model.feature_extractor(backbone["layer3"])
        box_label, _ = self.label_encoder(boxes, features, image_size)
        train_label, train_weights = self.bbox_encoder(boxes, features, image_size)
        features = features.view(frames, seq, *features.shape[-3:])

        scores = self._learn_and_apply(self.target_model, features, train_label, train_weights)
        coarse = self._decode(box_label, scores, backbone, image_size)

        segm_label, segm_weights = self.segm_encoder(torch.sigmoid(coarse))
        scores = self._learn_and_apply(self.target_model_segm, features, segm_label, segm_weights)
        return coarse, self._decode(box_label, scores, backbone, image_size)


#: the STA configuration assumed for ``sta.pth.tar``: RTS's own box-init branch (the release's
#: ``steepest_descent_resnet50_with_clf_encoder_boxinit`` with rts50's arguments) builds exactly this
STA_DEFAULT_KWARGS: dict[str, Any] = {
    "filter_size": 3,
    "num_filters": 16,
    "optim_iter": 5,
    "optim_init_reg": 0.01,
    "out_feature_dim": 512,
    "label_encoder_dims": (16, 32, 64, 128),
    "decoder_mdim": 64,
    "clf_feat_blocks": 0,
    "clf_feat_norm": True,
    "final_conv": True,
    "use_bn_in_label_enc": False,
    "backbone_type": "mrcnn",
}

# The official constructor's defaults: a record stores only the arguments the training script passed.
_OFFICIAL_DEFAULTS: dict[str, Any] = {
    "filter_size": 1,
    "num_filters": 1,
    "optim_iter": 3,
    "optim_init_reg": 0.01,
    "clf_feat_blocks": 1,
    "clf_feat_norm": True,
    "final_conv": False,
    "out_feature_dim": 512,
    "target_model_input_layer": "layer3",
    "decoder_input_layers": ("layer4", "layer3", "layer2", "layer1"),
    "label_encoder_dims": (1, 1),
    "decoder_mdim": 64,
    "filter_groups": 1,
    "use_bn_in_label_enc": True,
    "dilation_factors": None,
    "backbone_type": "imagenet",
}
# Arguments that change training only (pretrained backbone, frozen layers, gradient truncation).
_TRAINING_ONLY = {"backbone_pretrained", "frozen_backbone_layers", "detach_length"}
# Arguments this implementation builds only with one value (the rest of the architecture is the release's).
_FIXED = {
    "clf_feat_blocks": 0,
    "clf_feat_norm": True,
    "final_conv": True,
    "target_model_input_layer": "layer3",
    "decoder_input_layers": ["layer4", "layer3", "layer2", "layer1"],
    "filter_groups": 1,
    "use_bn_in_label_enc": False,
    "dilation_factors": None,
    # the STA mean/std (bgr255, Detectron mean) is the Mask R-CNN ResNet's convention
    "backbone_type": "mrcnn",
}


def _as_lists(value: object) -> object:
    return [_as_lists(item) for item in value] if isinstance(value, (list, tuple)) else value


def _build(kwargs: dict[str, Any]) -> STANet:
    unknown = sorted(set(kwargs) - set(_OFFICIAL_DEFAULTS) - _TRAINING_ONLY)
    if unknown:
        raise ValueError(f"STA constructor: unknown arguments {', '.join(unknown)}")
    config = {**_OFFICIAL_DEFAULTS, **{k: v for k, v in kwargs.items() if k not in _TRAINING_ONLY}}
    differing = [f"{k}={config[k]!r}" for k, value in _FIXED.items() if _as_lists(config[k]) != value]
    dims = tuple(config["label_encoder_dims"])
    if len(dims) != 4:
        # the box encoders read five widths (these four and num_filters); the release fails on others too
        differing.append(f"label_encoder_dims={config['label_encoder_dims']!r} (4 values needed)")
    if int(config["filter_size"]) % 2 != 1:
        differing.append(f"filter_size={config['filter_size']!r} (odd sizes only)")
    if differing:
        raise ValueError("STA constructor: this architecture is not supported: " + ", ".join(differing))
    return STANet(
        filter_size=int(config["filter_size"]),
        num_filters=int(config["num_filters"]),
        optim_iter=int(config["optim_iter"]),
        optim_init_reg=float(config["optim_init_reg"]),
        feature_dim=int(config["out_feature_dim"]),
        label_encoder_dims=dims,
        decoder_mdim=int(config["decoder_mdim"]),
    )


@model_constructor
def build_sta_net(**kwargs: Any) -> STANet:
    """The STA network with :data:`STA_DEFAULT_KWARGS` (``kwargs`` override them; official argument names).
    Random weights."""
    return _build({**STA_DEFAULT_KWARGS, **kwargs})


def build_official_sta_net(*args: Any, **kwargs: Any) -> STANet:
    """The network of a checkpoint whose record names :data:`OFFICIAL_STA_CONSTRUCTOR`: the official
    defaults, overridden by the stored arguments; an architecture argument this module cannot build is an
    error naming it, never a silently other net."""
    if args:
        raise ValueError(f"STA constructor: {len(args)} positional arguments in the record (keywords only)")
    return _build(kwargs)


__all__ = [
    "OFFICIAL_STA_CONSTRUCTOR",
    "STA_DEFAULT_KWARGS",
    "STANet",
    "box_label_mask",
    "build_official_sta_net",
    "build_sta_net",
]
