"""ICNet (Zhao et al., ECCV 2018), the key-frame network of EVS, in the Cityscapes configuration.

Written from the description in docs/evs.md §6.2 (channel counts of the released, pruned
Cityscapes model at ``width=1``):

- shared half-resolution trunk (image ×0.5 → conv1 stem → conv2 → conv3_1): 256 channels at
  1/16 of the input. These are the *low-level features* EVS warps (128×64 for 2048×1024);
- low-resolution branch: conv3_1 features ×0.5 (1/32) → conv3_2..conv5_3 (dilated) → pyramid
  pooling (summed) → 1×1 conv to 256;
- full-resolution branch: three stride-2 3×3 convs → 64 channels at 1/8;
- CFF(1/32, 1/16) → CFF(1/16, 1/8) → ×2 → 1×1 classifier: logits at 1/4 of the input.

Input normalisation (as the public ICNet TensorFlow port): BGR channel order, 0..255 values with
the per-channel mean ``IMAGE_MEAN_BGR`` subtracted and no division by a standard deviation;
:func:`prepare_image` does it for an OpenCV (BGR, uint8) frame.

The module is pure (no state between calls): ``low_level(image)`` gives the features,
``high_level(image, features)`` the rest, and the Refiner (refiner.py) is ``high_level`` fed with
warped features.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pytracking_ext.registry import Registry

from ..errors import EVSConfigError, EVSInputError
from .blocks import (
    CascadeFeatureFusion,
    FullResolutionBranch,
    HalfResolutionTrunk,
    ICNetConfig,
    LowResolutionBranch,
    resize,
)

IMAGE_MEAN_BGR = (103.939, 116.779, 123.68)
IGNORE_INDEX = 255
# cascade label guidance weights of the 1/16, 1/8 and 1/4 outputs (public TF port; docs/evs.md §6.2)
CASCADE_WEIGHTS = (0.16, 0.4, 1.0)

ICNET_CONFIGS = Registry("ICNet configuration")
ICNET_CONFIGS.register("standard", ICNetConfig())
# CPU-sized variant for training on a small machine: half the channels, fewer bottlenecks
ICNET_CONFIGS.register("small", ICNetConfig(width=0.5, blocks=(2, 2, 3, 2)))


def resolve_config(config: str | ICNetConfig = "standard", **overrides) -> ICNetConfig:
    """A registered configuration name (or a config) with field overrides, e.g. ``width=0.25``."""
    cfg = ICNET_CONFIGS.get(config) if isinstance(config, str) else config
    unknown = set(overrides) - {f.name for f in dataclasses.fields(ICNetConfig)}
    if unknown:
        raise EVSConfigError(
            f"unknown ICNet setting(s) {sorted(unknown)}; known: {[f.name for f in dataclasses.fields(ICNetConfig)]}"
        )
    return dataclasses.replace(cfg, **overrides) if overrides else cfg


def prepare_image(image_bgr: np.ndarray, device: torch.device | str | None = None) -> torch.Tensor:
    """An H×W×3 BGR uint8 frame → a 1×3×H×W float32 network input (BGR, mean subtracted)."""
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise EVSInputError(f"prepare_image expects an H×W×3 BGR image, got shape {image_bgr.shape}")
    x = torch.from_numpy(np.ascontiguousarray(image_bgr)).to(device=device, dtype=torch.float32)
    mean = torch.tensor(IMAGE_MEAN_BGR, dtype=torch.float32, device=x.device)
    return (x - mean).permute(2, 0, 1).unsqueeze(0).contiguous()


@dataclass
class ICNetOutput:
    """Network outputs.

    ``logits``: N×classes at 1/4 of the input (or the input size with ``full_size=True``);
    ``aux``: the cascade-guidance logits at 1/16 and 1/8, only when requested (default: in train mode);
    ``features``: the low-level features used (ICNet: its own conv3_1; Refiner: the warped ones).
    """

    logits: torch.Tensor
    aux: tuple[torch.Tensor, ...] = ()
    features: torch.Tensor | None = None


class ICNetHead(nn.Module):
    """Everything of ICNet after the low-level features; shared by ICNet and the Refiner.

    Layer names are identical in both so that a Refiner can start from ICNet's weights.
    """

    def __init__(self, cfg: ICNetConfig, classifier_extra_channels: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.low_branch = LowResolutionBranch(cfg)
        self.full_branch = FullResolutionBranch(cfg)
        self.cff_low = CascadeFeatureFusion(cfg.ch(256), cfg.feature_channels, cfg.fusion_channels, cfg.num_classes)
        self.cff_mid = CascadeFeatureFusion(cfg.fusion_channels, cfg.ch(64), cfg.fusion_channels, cfg.num_classes)
        self.classifier = nn.Conv2d(cfg.fusion_channels + classifier_extra_channels, cfg.num_classes, 1)

    @property
    def feature_channels(self) -> int:
        return self.cfg.feature_channels

    def _check_features(self, image: torch.Tensor, features: torch.Tensor) -> None:
        if features.ndim != 4 or features.shape[1] != self.feature_channels:
            raise EVSInputError(
                f"low-level features must be N×{self.feature_channels}×h×w, got {tuple(features.shape)}"
            )
        expected = (-(-image.shape[-2] // 16), -(-image.shape[-1] // 16))
        if tuple(features.shape[-2:]) != expected:
            raise EVSInputError(
                f"low-level features must be at 1/16 of the image {tuple(image.shape[-2:])}, "
                f"i.e. {expected}, got {tuple(features.shape[-2:])}"
            )

    def _decode(
        self,
        image: torch.Tensor,
        features: torch.Tensor,
        with_aux: bool,
        full_size: bool,
        extra: torch.Tensor | None = None,
    ) -> ICNetOutput:
        self._check_features(image, features)
        low = self.low_branch(features)
        fused16, aux16 = self.cff_low(low, features, with_aux)
        fused8, aux8 = self.cff_mid(fused16, self.full_branch(image), with_aux)
        x = resize(fused8, (2 * fused8.shape[-2], 2 * fused8.shape[-1]))
        if extra is not None:
            x = torch.cat([x, resize(extra.to(x.dtype), tuple(x.shape[-2:]))], 1)
        logits = self.classifier(x)
        if full_size:
            logits = resize(logits, tuple(image.shape[-2:]))
        aux = (aux16, aux8) if with_aux else ()
        return ICNetOutput(logits=logits, aux=aux, features=features)


class ICNet(ICNetHead):
    """ICNet with its shared half-resolution trunk (``trunk``) producing the low-level features."""

    def __init__(self, cfg: ICNetConfig | None = None) -> None:
        super().__init__(cfg or ICNetConfig())
        self.trunk = HalfResolutionTrunk(self.cfg)

    def low_level(self, image: torch.Tensor) -> torch.Tensor:
        """The conv3_1 features: N×feature_channels at 1/16 of ``image`` (what EVS warps)."""
        return self.trunk(image)

    def high_level(
        self, image: torch.Tensor, features: torch.Tensor, with_aux: bool | None = None, full_size: bool = False
    ) -> ICNetOutput:
        """Logits from the image and given low-level features (the Refiner's computation)."""
        return self._decode(image, features, self.training if with_aux is None else with_aux, full_size)

    def forward(self, image: torch.Tensor, with_aux: bool | None = None, full_size: bool = False) -> ICNetOutput:
        """``image``: N×3×H×W normalised (see :func:`prepare_image`); aux outputs default to train mode."""
        return self.high_level(image, self.low_level(image), with_aux, full_size)


def build_icnet(config: str | ICNetConfig = "standard", **overrides) -> ICNet:
    """ICNet from a registered configuration ('standard', 'small') with optional overrides."""
    return ICNet(resolve_config(config, **overrides))


def cascade_loss(
    output: ICNetOutput,
    target: torch.Tensor,
    weights: tuple[float, float, float] = CASCADE_WEIGHTS,
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """Cascade label guidance: weighted cross-entropy of the 1/16, 1/8 and 1/4 outputs.

    ``target``: N×H×W class ids at the input resolution, downscaled by nearest neighbour to each
    output. Without aux outputs (eval mode) only the main term is returned.
    """
    if target.ndim != 3:
        raise EVSInputError(f"cascade_loss target must be N×H×W, got {tuple(target.shape)}")
    logits = (*output.aux, output.logits)
    used = weights[len(weights) - len(logits) :]
    total = output.logits.new_zeros(())
    for weight, pred in zip(used, logits):
        t = F.interpolate(target[:, None].float(), size=tuple(pred.shape[-2:]), mode="nearest")[:, 0].long()
        total = total + weight * F.cross_entropy(pred, t, ignore_index=ignore_index)
    return total
