"""RTSNet (thesis ch. 5): segmentation learner conditioned on an instance-localisation learner.

Pure network: the training-style ``forward`` (docs/rts.md A.8) and the per-frame pieces the tracker
calls (features, learners, classification, segmentation). Module order and names follow the
official state dict, so an official ``rts50.pth`` loads with ``strict=True``.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...admin.model_constructor import model_constructor
from ..backbone.resnet_mrcnn import ResNetMRCNN
from .decoder import FEATURE_CHANNELS, LAYERS, RTSDecoder
from .features import feature_extractor, norm_scale
from .label_encoder import MaskEncoder
from .optim import (
    apply_filter,
    classification_problem,
    hinge_steepest_descent,
    linear_steepest_descent,
    segmentation_problem,
    steepest_descent,
)
from .prroi_pool import prroi_pool2d


class FilterLearner(nn.Module):
    """A segmentation learner: its learned regulariser (the release's ``LinearFilter`` key layout), and
    the features it learns on when it computes them itself (``feature_extractor``)."""

    def __init__(self, filter_size: int, init_reg: float, feature_extractor: nn.Module | None = None) -> None:
        super().__init__()
        self.filter_size = filter_size
        if feature_extractor is not None:
            self.feature_extractor = feature_extractor
        self.filter_optimizer = nn.Module()
        self.filter_optimizer.residual_module = nn.Module()
        self.filter_optimizer.residual_module.filter_reg = nn.Parameter(torch.full((1,), init_reg))

    @property
    def filter_reg(self) -> torch.Tensor:
        return self.filter_optimizer.residual_module.filter_reg


class TargetModel(FilterLearner):
    """Segmentation branch: features F and the learned regulariser of the few-shot learner A."""

    def __init__(self, out_dim: int = 512, filter_size: int = 3, init_reg: float = 0.01, in_dim: int = 1024) -> None:
        super().__init__(filter_size, init_reg, feature_extractor(in_dim, out_dim, 1, norm_scale(out_dim, filter_size)))


class FilterInitializerLinear(nn.Module):
    """conv 3x3 on the classification features, PrRoIPool of the target box, mean over frames."""

    def __init__(self, dim: int = 512, filter_size: int = 4, feature_stride: int = 16) -> None:
        super().__init__()
        self.filter_conv = nn.Conv2d(dim, dim, 3, padding=1)
        self.filter_size, self.feature_stride = filter_size, feature_stride

    def forward(self, features: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """``(n, seq, C, h, w)`` features and ``(n, seq, 4)`` boxes (x, y, w, h) -> ``(seq, C, k, k)``."""
        n, seq = features.shape[:2]
        feat = self.filter_conv(features.reshape(-1, *features.shape[-3:]))
        boxes = boxes.reshape(-1, 4)
        index = torch.arange(boxes.shape[0], dtype=boxes.dtype, device=boxes.device)[:, None]
        rois = torch.cat([index, boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], dim=1)
        # feature_stride 16 on stride-32 features: the reference's scale, kept (docs/rts.md F.1)
        pooled = prroi_pool2d(feat, rois, (self.filter_size, self.filter_size), 1.0 / self.feature_stride)
        return pooled.view(n, seq, *pooled.shape[-3:]).mean(dim=0)


class Classifier(nn.Module):
    """Instance branch: features G, filter initializer P (steepest descent runs without parameters)."""

    def __init__(
        self, out_dim: int = 512, filter_size: int = 4, scale: float | None = None, in_dim: int = 1024, stride: int = 2
    ) -> None:
        super().__init__()
        self.filter_initializer = FilterInitializerLinear(out_dim, filter_size)
        # both branches normalise with the segmentation filter's scale (3x3), as the reference does
        self.feature_extractor = feature_extractor(
            in_dim, out_dim, stride, norm_scale(out_dim, 3) if scale is None else scale
        )


class RTSNet(nn.Module):
    """Backbone, segmentation branch (F, E/W, A, T), instance branch (G, P, T_kappa), score encoder H, decoder D."""

    def __init__(
        self,
        optim_iter: int = 5,
        clf_optim_iter: int = 5,
        hinge_threshold: float = 0.05,
        activation_leak: float = 0.1,
        clf_filter_reg: float = 0.01,
        backbone: nn.Module | None = None,
        feature_dim: int = 512,
        decoder_widths: dict[str, int] | None = None,
        clf_stride: int = 2,
        instance_conditioning: bool = True,
    ) -> None:
        """Defaults build rts50; ``backbone`` (with a ``channels`` dict for layer1..4 at strides 4..32),
        ``feature_dim`` (channels of both branches' features), ``decoder_widths`` and ``clf_stride``
        (the instance branch's stride on layer3: 2 gives stride-32 scores, 1 stride-16) build smaller variants.
        ``instance_conditioning=False`` is thesis Table 5.1's ablation: the decoder gets the segmentation
        learner's output alone, no encoded instance scores (same weights; the instance branch still runs)."""
        super().__init__()
        self.instance_conditioning = bool(instance_conditioning)
        backbone = backbone if backbone is not None else ResNetMRCNN((3, 4, 6, 3), LAYERS[::-1])
        channels = dict(getattr(backbone, "channels", FEATURE_CHANNELS))
        self.target_model = TargetModel(feature_dim, in_dim=channels["layer3"])
        self.label_encoder = MaskEncoder(stride=2)
        self.clf_encoder = MaskEncoder(stride=1)
        self.classifier = Classifier(feature_dim, in_dim=channels["layer3"], stride=clf_stride)
        self.feature_extractor = backbone
        self.decoder = RTSDecoder(feature_channels=channels, widths=decoder_widths)
        self.optim_iter, self.clf_optim_iter = optim_iter, clf_optim_iter
        self.hinge_threshold, self.activation_leak, self.clf_filter_reg = (
            hinge_threshold,
            activation_leak,
            clf_filter_reg,
        )

    # ----- per-frame pieces ------------------------------------------------------------------
    def extract_backbone_features(self, images: torch.Tensor, layers=None) -> dict[str, torch.Tensor]:
        """Backbone maps by layer name (default all four; the backbone stops after the deepest asked for)."""
        return self.feature_extractor(images, list(layers or LAYERS[::-1]))

    def extract_target_model_features(self, layer3: torch.Tensor) -> torch.Tensor:
        return self.target_model.feature_extractor(layer3)

    def extract_classification_feat(self, layer3: torch.Tensor) -> torch.Tensor:
        return self.classifier.feature_extractor(layer3)

    def learn_segmentation_filter(
        self,
        features: torch.Tensor,
        masks: torch.Tensor,
        tau: torch.Tensor | None = None,
        num_iter: int | None = None,
        temporal_weights: torch.Tensor | None = None,
    ):
        """Few-shot learner A: encode ``masks`` (n, seq, H, W) and optimise tau on ``features`` (n, seq, C, h, w)."""
        encoding, weights = self.label_encoder(masks)
        if temporal_weights is not None:
            weights = weights * temporal_weights.view(-1, 1, 1, 1, 1)
        return self.optimize_segmentation_filter(features, encoding, weights, tau, num_iter)

    def optimize_segmentation_filter(self, features, encoding, weights, tau=None, num_iter=None):
        if tau is None:
            k = self.target_model.filter_size
            tau = features.new_zeros((features.shape[1], encoding.shape[2], features.shape[2], k, k))
        num_iter = self.optim_iter if num_iter is None else num_iter
        if not torch.is_grad_enabled():
            return linear_steepest_descent(tau, features, encoding, weights, self.target_model.filter_reg, num_iter)
        residuals, jvp = segmentation_problem(features, encoding, weights, self.target_model.filter_reg)
        # The graph through the unrolled iterates is what trains F, E/W and the regulariser; it is
        # needed whenever gradients are on (training keeps the net in eval mode for its BatchNorms).
        return steepest_descent(
            tau, residuals, jvp, self.optim_iter if num_iter is None else num_iter, create_graph=torch.is_grad_enabled()
        )

    def learn_classifier(
        self,
        features: torch.Tensor,
        boxes: torch.Tensor,
        labels: torch.Tensor,
        kappa: torch.Tensor | None = None,
        num_iter: int | None = None,
        sample_weights: torch.Tensor | None = None,
    ):
        """Model predictor P: initialise kappa from the boxes (unless given) and refine it on the labels."""
        if kappa is None:
            kappa = self.classifier.filter_initializer(features, boxes)
        num_iter = self.clf_optim_iter if num_iter is None else num_iter
        if not torch.is_grad_enabled():
            return hinge_steepest_descent(
                kappa,
                features,
                labels,
                sample_weights,
                self.clf_filter_reg,
                num_iter,
                self.hinge_threshold,
                self.activation_leak,
            )
        residuals, jvp = classification_problem(
            features, labels, sample_weights, self.clf_filter_reg, self.hinge_threshold, self.activation_leak
        )
        return steepest_descent(kappa, residuals, jvp, num_iter, create_graph=True)

    @staticmethod
    def classify(kappa: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return apply_filter(features, kappa, kappa.shape[-1] // 2)

    def segment_target(
        self,
        tau: torch.Tensor,
        features: torch.Tensor,
        backbone: dict[str, torch.Tensor],
        encoded_scores: torch.Tensor,
        image_size,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits ``(n*seq, 1, H, W)`` and the decoder input for one test frame (n = 1)."""
        mask_encoding = apply_filter(features, tau, tau.shape[-1] // 2)
        n, seq = mask_encoding.shape[:2]
        fused = mask_encoding  # without instance conditioning (Table 5.1): LWL's decoder input
        if self.instance_conditioning:
            encoded = F.interpolate(
                encoded_scores.reshape(n * seq, *encoded_scores.shape[-3:]),
                size=mask_encoding.shape[-2:],
                mode="bilinear",
                align_corners=False,
            )
            fused = mask_encoding + encoded.view_as(mask_encoding)
        return self.decoder(fused.reshape(n * seq, *fused.shape[-3:]), backbone, image_size), fused

    def set_instance_conditioning(self, on: bool) -> None:
        """Switch the instance conditioning of the decoder (thesis Table 5.1) and record it in the
        constructor record, so a checkpoint of this network rebuilds with the same switch."""
        self.instance_conditioning = bool(on)
        record = getattr(self, "constructor", None)
        if record is not None:
            self.constructor = dataclasses.replace(record, kwds={**record.kwds, "instance_conditioning": bool(on)})

    # ----- training-style forward ------------------------------------------------------------
    def forward(
        self,
        train_imgs,
        test_imgs,
        train_masks,
        test_masks,
        train_bb,
        train_label,
        test_label=None,
        num_refinement_iter: int = 2,
    ):
        n_train, seq = train_imgs.shape[:2]
        n_test = test_imgs.shape[0]
        image_size = train_imgs.shape[-2:]
        train_feat = self.extract_backbone_features(train_imgs.reshape(-1, *train_imgs.shape[-3:]))
        test_feat = self.extract_backbone_features(test_imgs.reshape(-1, *test_imgs.shape[-3:]))

        def per_frame(x, n):
            return x.view(n, seq, *x.shape[-3:])

        train_xs = per_frame(self.extract_target_model_features(train_feat["layer3"]), n_train)
        test_xs = per_frame(self.extract_target_model_features(test_feat["layer3"]), n_test)
        train_xc = per_frame(self.extract_classification_feat(train_feat["layer3"]), n_train)
        test_xc = per_frame(self.extract_classification_feat(test_feat["layer3"]), n_test)

        _, kappas, _ = self.learn_classifier(train_xc, train_bb, train_label)
        clf_scores = [self.classify(kappa, test_xc) for kappa in kappas]

        encoding, weights = self.label_encoder(train_masks)
        tau, _, _ = self.optimize_segmentation_filter(train_xs, encoding, weights)
        encoded_scores = self.clf_encoder(clf_scores[-1], with_weights=False)

        features, encodings, sample_weights, predictions = [train_xs], [encoding], [weights], []
        for i in range(n_test):
            frame_feat = {k: v.view(n_test, seq, *v.shape[-3:])[i] for k, v in test_feat.items()}
            mask, _ = self.segment_target(tau, test_xs[i : i + 1], frame_feat, encoded_scores[i : i + 1], image_size)
            mask = mask.view(1, seq, *image_size)
            predictions.append(mask)
            if i == n_test - 1:
                break
            new_encoding, new_weights = self.label_encoder(torch.sigmoid(mask).detach())
            features.append(test_xs[i : i + 1])
            encodings.append(new_encoding)
            sample_weights.append(new_weights)
            tau, _, _ = self.optimize_segmentation_filter(
                torch.cat(features), torch.cat(encodings), torch.cat(sample_weights), tau, num_refinement_iter
            )
        return torch.cat(predictions), clf_scores


@model_constructor
def build_rts50(**kwargs) -> RTSNet:
    """The rts50 network (docs/rts.md A; no pretrained weights are loaded)."""
    kwargs.pop("backbone_pretrained", None)
    for ignored in ("clf_filter_size", "fusion_type"):  # fixed in this architecture (4, 'add')
        kwargs.pop(ignored, None)
    return RTSNet(**kwargs)


SMALL_DECODER_WIDTHS = {"layer4": 64, "layer3": 32, "layer2": 32, "layer1": 16}


@model_constructor
def build_rts_small(
    backbone: str = "efficientnet_lite0",
    feature_dim: int = 64,
    decoder_widths: dict[str, int] | None = None,
    clf_stride: int = 2,
    **kwargs,
) -> RTSNet:
    """A CPU-trainable RTS: a small backbone from :data:`~ltr_ext.models.backbone.BACKBONES`, thin
    branches and decoder. Random weights; training settings load ImageNet weights where they exist."""
    from ..backbone import build_backbone

    return RTSNet(
        backbone=build_backbone(backbone),
        feature_dim=feature_dim,
        decoder_widths=decoder_widths or SMALL_DECODER_WIDTHS,
        clf_stride=clf_stride,
        **kwargs,
    )


#: the official constructor's arguments of the released rts50 (docs/rts.md A); the only configuration it builds here
OFFICIAL_RTS50_KWARGS = {
    "filter_size": 3,
    "num_filters": 16,
    "optim_iter": 5,
    "optim_init_reg": 0.01,
    "out_feature_dim": 512,
    "target_model_input_layer": "layer3",
    "classification_layer": "layer3",
    "decoder_input_layers": ["layer4", "layer3", "layer2", "layer1"],
    "decoder_mdim": 64,
    "filter_groups": 1,
    "label_encoder_dims": [16, 32, 64],
    "use_bn_in_label_enc": False,
    "clf_feat_blocks": 0,
    "clf_feat_norm": True,
    "final_conv": True,
    "backbone_type": "mrcnn",
    "dilation_factors": None,
    "clf_with_extractor": True,
    "clf_filter_size": 4,
    "clf_score_act": "relu",
    "clf_hinge_threshold": 0.05,
    "clf_activation_leak": 0.1,
    "clf_feat_stride": 16,
    "clf_enc_input": "sc",
    "fusion_type": "add",
}


def _as_lists(value: object) -> object:
    return [_as_lists(item) for item in value] if isinstance(value, (list, tuple)) else value


def build_official_rts50(*args: object, **kwargs: object) -> RTSNet:
    """The network of an official LTR checkpoint whose record names
    ``ltr.models.rts.rts_net.steepest_descent_resnet50_with_clf_encoder``: rts50 (docs/rts.md A).

    Arguments that only affect training (frozen layers, detach length, ...) are ignored; an
    architecture argument other than the release's is an error naming it, never a silently other net.
    """
    differing = [
        f"{name}={value!r}"
        for name, value in kwargs.items()
        if name in OFFICIAL_RTS50_KWARGS and _as_lists(value) != OFFICIAL_RTS50_KWARGS[name]
    ]
    if args or differing:
        raise ValueError(
            "only the released rts50 configuration (docs/rts.md A) can be built; this record has "
            + (", ".join(differing) if differing else f"{len(args)} positional arguments")
        )
    return build_rts50()
