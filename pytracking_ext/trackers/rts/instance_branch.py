"""The instance-localisation branch of the RTS tracker (DiMP-style; docs/rts.md C.3.5, C.6).

Owns the classifier filter kappa, its sample memory and its own estimate of the target state.
Every frame it scores the search area, decides whether the target was found (max score above
``clf_target_not_found_threshold``), follows the segmentation's box when that is valid (else its
own peak), and stores the frame in its memory when the target was found.
"""

from __future__ import annotations

from typing import Any

import torch

from ..params import TrackerParams
from .augmentation import Augmentation, build_augmentations
from .geometry import sample_geometry, sample_patch, search_scale
from .memory import SampleMemory
from .peak_decision import PeakThresholds, decide_peak


def gaussian_label(
    feature_size: torch.Tensor, sigma: float, centre: torch.Tensor, end_pad: torch.Tensor
) -> torch.Tensor:
    """Separable Gaussian on a grid centred in the map (origin in the middle), ``end_pad`` extra cells."""

    def axis(n: float, c: torch.Tensor, pad: float) -> torch.Tensor:
        k = torch.arange(-(n - 1) / 2, (n + 1) / 2 + pad)
        return torch.exp(-1.0 / (2 * sigma**2) * (k - c) ** 2)

    return (
        axis(float(feature_size[0]), centre[0], float(end_pad[0]))[:, None]
        * axis(float(feature_size[1]), centre[1], float(end_pad[1]))[None, :]
    )


def peak_translation(
    scores: torch.Tensor, img_sample_sz: torch.Tensor, ksz_even: torch.Tensor, sample_scale
) -> tuple[torch.Tensor, float]:
    """Offset (image pixels, y x) of the score peak from the crop centre, and the peak score."""
    s = scores.reshape(scores.shape[-2:])
    score_sz = torch.tensor(s.shape, dtype=torch.float32)
    index = int(torch.argmax(s))
    peak = torch.tensor([index // s.shape[1], index % s.shape[1]], dtype=torch.float32)
    output_sz = score_sz - ksz_even  # the score map has one extra cell per axis (even kernel)
    return (peak - (score_sz - 1) / 2) * (img_sample_sz / output_sz) * sample_scale, float(s.flatten()[index])


class InstanceBranch:
    """Classifier state, memory and localisation of one target."""

    def __init__(self, params: TrackerParams, net, image_sample_size: torch.Tensor, extract_backbone) -> None:
        self.params = params
        self.net = net
        self.img_sample_sz = image_sample_size
        self.extract_backbone = extract_backbone  # normalises patches and runs the backbone
        self.flag: str | None = None
        self.max_score: float | None = None
        self.output_box: list[float] | None = None
        self.search_area_box: list[float] | None = None
        self.peak_thresholds = PeakThresholds.from_params(params)

    # ----- initialisation ------------------------------------------------------------------
    def initialize(self, image: torch.Tensor, pos: torch.Tensor, target_sz: torch.Tensor) -> None:
        p = self.params
        self.frame_num = 1
        self.pos, self.target_sz = pos.clone(), target_sz.clone()
        self.target_scale = search_scale(target_sz, p.clf_search_area_scale, self.img_sample_sz)
        self.base_target_sz = self.target_sz / self.target_scale
        self.image_sz = torch.tensor(image.shape[-2:], dtype=torch.float32)
        self.min_scale_factor = torch.max(10 / self.base_target_sz)
        self.max_scale_factor = torch.min(self.image_sz / self.base_target_sz)

        # The reference's classifier init handles only the 'inside' border mode; with 'inside_major'
        # it crops unshrunk with replicate padding (docs/rts.md F.4).
        if p.get("clf_border_mode", "replicate") == "inside":
            raise NotImplementedError(
                "clf_border_mode 'inside' at init is not supported; use 'inside_major' or 'replicate'"
            )
        self.init_sample_scale = self.target_scale
        self.init_sample_pos = self.pos.round()
        # This crop has integer corners even where the tracking crops use half-pixel ones: that is
        # what reproduces the release's published scores (see geometry.sample_patch).
        augs = build_augmentations(p.clf_augmentation if p.get("clf_use_augmentation", False) else {})
        patch, _ = sample_patch(
            image, self.init_sample_pos, self.init_sample_scale * self.img_sample_sz, self.img_sample_sz.long().tolist()
        )
        with torch.no_grad():
            # One sample at a time: a batch of five 480x832 crops makes every backbone activation a
            # fresh 100+ MB allocation (page faults on each); per sample they stay small enough to be
            # reused (median init 8 % lower over 8 alternating runs on 2 CPU cores), same values.
            x = torch.cat(
                [self.net.extract_classification_feat(self.extract_backbone(aug(patch))["layer3"]) for aug in augs]
            )

        self.feature_sz = torch.tensor(x.shape[-2:], dtype=torch.float32)
        ksz = self.net.classifier.filter_initializer.filter_size
        self.kernel_size = torch.tensor([ksz, ksz], dtype=torch.float32)
        self.ksz_even = (self.kernel_size + 1) % 2
        self.sigma = float((self.feature_sz / self.img_sample_sz * self.base_target_sz).prod().sqrt()) * p.get(
            "clf_output_sigma_factor", 0.25
        )

        boxes, labels = self._init_boxes_and_labels(augs)
        with torch.no_grad():
            self.kappa, _, self.losses = self.net.learn_classifier(
                x[:, None], boxes[:, None].to(x.device), labels[:, None].to(x.device), num_iter=p.clf_net_opt_iter
            )
        self.memory = SampleMemory(
            p.clf_sample_memory_size, p.clf_learning_rate, p.get("clf_init_samples_minimum_weight", None)
        )
        self.memory.initialize(features=x, labels=labels.to(x.device), boxes=boxes.to(x.device))

    def _init_boxes_and_labels(self, augs: list[Augmentation]) -> tuple[torch.Tensor, torch.Tensor]:
        box = self.box_in_crop(self.pos, self.target_sz, self.init_sample_pos, self.init_sample_scale)
        centre = self.label_centre(self.pos, self.init_sample_pos, self.init_sample_scale)
        boxes, labels = [], []
        for aug in augs:  # only the transform's shift moves the box and label (docs/rts.md F.5)
            shift = torch.tensor(aug.shift, dtype=torch.float32)
            boxes.append(box + torch.tensor([shift[1], shift[0], 0.0, 0.0]))
            labels.append(
                gaussian_label(
                    self.feature_sz, self.sigma, centre + shift / self.img_sample_sz * self.feature_sz, self.ksz_even
                )
            )
        return torch.stack(boxes), torch.stack(labels)

    # ----- geometry helpers ------------------------------------------------------------------
    def box_in_crop(
        self, pos: torch.Tensor, size: torch.Tensor, sample_pos: torch.Tensor, sample_scale
    ) -> torch.Tensor:
        """Target box ``(x, y, w, h)`` in crop pixels."""
        centre = (pos - sample_pos) / sample_scale + (self.img_sample_sz - 1) / 2
        box_sz = size / sample_scale
        top_left = centre - (box_sz - 1) / 2
        return torch.cat([top_left.flip(0), box_sz.flip(0)])

    def label_centre(self, pos: torch.Tensor, sample_pos: torch.Tensor, sample_scale) -> torch.Tensor:
        return self.feature_sz * (pos - sample_pos) / (sample_scale * self.img_sample_sz) + 0.5 * self.ksz_even

    # ----- per frame -------------------------------------------------------------------------
    def classify(self, layer3: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Classification features ``(1, C, h, w)`` and scores ``(1, 1, H, W)`` of one search area."""
        self.frame_num += 1
        with torch.no_grad():
            x = self.net.extract_classification_feat(layer3)
            scores = self.net.classify(self.kappa, x[:, None])
        return x, scores

    def localize(self, scores: torch.Tensor, sample_pos: torch.Tensor, sample_scale) -> tuple[torch.Tensor, str]:
        """Translation of the target's peak (image pixels) and the flag: 'normal', 'not_found', or
        with distractor thresholds below the release's 10000, 'uncertain' / 'hard_negative'
        (:mod:`.peak_decision`)."""
        s = scores.reshape(scores.shape[-2:])
        score_sz = torch.tensor(s.shape, dtype=torch.float32)
        cells_to_crop = self.img_sample_sz / (score_sz - self.ksz_even)
        cell_px = cells_to_crop * sample_scale  # image pixels per cell
        centre = (score_sz - 1) / 2
        decision = decide_peak(
            s,
            target_cells=self.target_sz / cell_px,
            previous_cell=(self.pos - sample_pos) / cell_px + centre,
            thresholds=self.peak_thresholds,
        )
        self.max_score = decision.max_score
        # multiplied in this order (not by cell_px) so the translation stays bit-equal to the release's
        return (decision.cell - centre) * cells_to_crop * sample_scale, decision.flag

    def update(
        self, x: torch.Tensor, scores: torch.Tensor, coords: torch.Tensor, seg_state: dict[str, Any] | None
    ) -> tuple[list[float], torch.Tensor, torch.Tensor]:
        """Localise, update the state (seg box when valid) and the memory; returns box, pos, size."""
        p = self.params
        sample_pos, sample_scale = sample_geometry(coords, self.img_sample_sz.long().tolist())
        sample_scale = torch.tensor(sample_scale, dtype=torch.float32)
        translation, flag = self.localize(scores, sample_pos, sample_scale)
        if seg_state is not None and p.get("use_seg_pos_sz_for_clf_update", True):
            self.pos, self.target_scale, self.target_sz = seg_state["pos"], seg_state["scale"], seg_state["size"]
        elif flag != "not_found" and p.get("clf_use_clf_when_lwl_lost", True):
            new_pos = sample_pos + translation
            self.target_scale = sample_scale.clamp(self.min_scale_factor, self.max_scale_factor)
            self.target_sz = self.base_target_sz * self.target_scale
            inside = (p.get("target_inside_ratio", 0.2) - 0.5) * self.target_sz
            self.pos = torch.max(torch.min(new_pos, self.image_sz - inside), inside)
        self.flag = flag
        c = coords.to(torch.float32)
        self.search_area_box = [float(c[1]), float(c[0]), float(c[3] - c[1] - 1), float(c[2] - c[0] - 1)]
        self.output_box = [
            float(self.pos[1] - (self.target_sz[1] - 1) / 2),
            float(self.pos[0] - (self.target_sz[0] - 1) / 2),
            float(self.target_sz[1]),
            float(self.target_sz[0]),
        ]
        if flag == "not_found" and p.get("clf_output_not_found_box", False):
            self.output_box = [-1.0, -1.0, -1.0, -1.0]
        self.updated = False
        if flag not in ("not_found", "uncertain") and p.get("update_classifier", False):
            self._update_model(x, sample_pos, sample_scale, hard_negative=flag == "hard_negative")
        return self.output_box, self.pos, self.target_sz

    def _update_model(
        self, x: torch.Tensor, sample_pos: torch.Tensor, sample_scale: torch.Tensor, hard_negative: bool = False
    ) -> None:
        """Store the frame and re-fit the filter on schedule; a hard-negative frame (a distractor
        next to the target) gets ``clf_hard_negative_learning_rate`` and an immediate re-fit of
        ``clf_net_opt_hn_iter`` steps, as DiMP does (docs/rts.md C.6)."""
        p = self.params
        box = self.box_in_crop(self.pos, self.target_sz, sample_pos, sample_scale)
        label = gaussian_label(
            self.feature_sz, self.sigma, self.label_centre(self.pos, sample_pos, sample_scale), self.ksz_even
        )
        rate = p.get("clf_hard_negative_learning_rate", None) if hard_negative else None
        if self.frame_num % p.get("clf_train_sample_interval", 1) == 0:
            self.memory.add(features=x[0], labels=label.to(x.device), boxes=box.to(x.device), learning_rate=rate)
        init_buffer = p.get("clf_alr_init_buff", 100)
        force = init_buffer > 0 and self.frame_num < init_buffer
        if hard_negative:
            num_iter = p.get("clf_net_opt_hn_iter", 1)
        elif (self.frame_num - 1) % p.clf_train_skipping == 0 or force:
            num_iter = p.get("clf_net_opt_update_iter", 0)
        else:
            return
        if num_iter <= 0:
            return
        weights = self.memory.stored_weights().to(x.dtype).view(-1, 1, 1, 1)
        with torch.no_grad():
            self.kappa, _, losses = self.net.learn_classifier(
                self.memory.stored("features")[:, None],
                self.memory.stored("boxes")[:, None],
                self.memory.stored("labels")[:, None],
                kappa=self.kappa,
                num_iter=num_iter,
                sample_weights=weights.to(x.device),
            )
        self.losses = losses
        self.updated = True
