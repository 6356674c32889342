"""bf16 islands of the RTS network: which parts run in bfloat16 when ``params.net.precision`` resolves to it.

The backbone, the segmentation branch's feature convolution and the decoder run in bf16
channels-last (on the CPU through the prepacked oneDNN convolutions of ``ltr_ext.models.cpu_inference``,
which take bf16 weights). Everything the online learners see or produce stays float32: the
segmentation features leave their convolution as float32 (InstanceL2Norm in float32), the few-shot
learners' steepest descent (segmentation and instance branch), the label / score encoders, the
filter initializer, the box / mask post-processing (the decoder's logits come back as float32), and
the instance branch's feature extractor.

Measured on the fixture sequence (tracker_ref, 30 frames at 480x832, seed-0 synthetic rts50 weights,
bf16 against fp32 on this AVX-512 BF16 CPU): every variant gives the same boxes (0 px) and masks
differing on 1.1-1.4 % of the pixels; with the instance features in bf16 the instance branch's
decisions (``clf_flag``, ``is_lost_clf``, ``update_case``, ``clf_num_stored``) differ on 8 of 29
frames (largest clf score difference 0.029), with everything else in bf16 and those in float32 on
none (0.0068). Hence ``clf_features`` is not in the default :data:`BF16_PARTS`; the tracker
parameter ``bf16_parts`` chooses others.
"""

from __future__ import annotations

import torch
import torch.nn as nn

#: parts that may run in bf16
PARTS = ("backbone", "target_features", "clf_features", "decoder")
#: the default of the tracker parameter ``bf16_parts`` (instance features stay float32: see above)
BF16_PARTS = ("backbone", "target_features", "decoder")


class Cast(nn.Module):
    """``x.to(dtype)`` (a step of an ``nn.Sequential``)."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.dtype)

    def extra_repr(self) -> str:
        return str(self.dtype)


class Bf16Backbone(nn.Module):
    """A backbone run in ``dtype``: input cast to it, feature maps returned in it."""

    def __init__(self, backbone: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.body = backbone.to(dtype)
        self.dtype = dtype
        self.channels = getattr(backbone, "channels", None)

    def forward(self, images: torch.Tensor, layers=None) -> dict[str, torch.Tensor]:
        return self.body(images.to(self.dtype), layers)


class Bf16Decoder(nn.Module):
    """The RTS decoder run in ``dtype``; the mask logits come back as float32."""

    def __init__(self, decoder: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.body = decoder.to(dtype)
        self.dtype = dtype

    def forward(self, scores: torch.Tensor, features: dict[str, torch.Tensor], image_size) -> torch.Tensor:
        features = {name: f.to(self.dtype) for name, f in features.items()}
        return self.body(scores.to(self.dtype), features, image_size).float()


def _bf16_feature_extractor(extractor: nn.Sequential, dtype: torch.dtype) -> nn.Sequential:
    """conv 3x3 in ``dtype``, InstanceL2Norm (and what follows) in float32."""
    conv, *rest = list(extractor)
    return nn.Sequential(Cast(dtype), conv.to(dtype), Cast(torch.float32), *rest)


def apply_bf16_islands(net: nn.Module, dtype: torch.dtype, parts=BF16_PARTS) -> nn.Module:
    """Convert ``parts`` of an (inference) RTSNet to ``dtype`` in place; float32 leaves ``net`` as it is.

    Idempotent per network (the loader caches one copy per spec and precision, shared by the objects
    of a sequence): the parts converted are recorded on ``net`` and a second call with other parts raises.
    """
    done = getattr(net, "_bf16_parts", None)
    if dtype == torch.float32:
        if done is not None:
            raise ValueError(f"network already converted with {done}, asked for float32")
        return net
    parts = tuple(sorted(parts))
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown bf16 parts {sorted(unknown)}; choose from {PARTS}")
    if done is not None:
        if done != (dtype, parts):
            raise ValueError(f"network already converted with {done}, asked for {(dtype, parts)}")
        return net
    if "backbone" in parts:
        net.feature_extractor = Bf16Backbone(net.feature_extractor, dtype)
    for name, branch in (("target_features", net.target_model), ("clf_features", net.classifier)):
        if name in parts:
            branch.feature_extractor = _bf16_feature_extractor(branch.feature_extractor, dtype)
        elif "backbone" in parts:  # a float32 branch on bf16 backbone features
            branch.feature_extractor = nn.Sequential(Cast(torch.float32), *branch.feature_extractor)
    # a float32 decoder on bf16 backbone features: the same wrapper casts them to float32
    net.decoder = Bf16Decoder(net.decoder, dtype if "decoder" in parts else torch.float32)
    net._bf16_parts = (dtype, parts)
    return net
