"""The RTS tracker (thesis ch. 5; docs/rts.md C): segmentation-centric tracking.

Per frame: update the segmentation memory with the previous frame's (merged) probabilities,
reposition the search area from the previous mask (or the instance branch's box), crop, run the
backbone once, score the target with the instance branch, segment with the segmentation branch
conditioned on the encoded scores, paste the scores into the image, and derive the box from the
mask. The network is a pure module (``ltr_ext.models.rts.RTSNet``); all online state (filters,
memories, positions, flags) lives here and in :class:`InstanceBranch`.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from typing import Any

import numpy as np
import torch

from ...evaluation.network_loading import load_network, normalize_patches, select_device
from ...utils.boxes import EMPTY_BOX, mask_to_bbox
from ..base import BaseTracker
from ..params import TrackerParams
from .augmentation import Augmentation
from .bf16 import BF16_PARTS, apply_bf16_islands
from .box_init import box_to_mask, refine_box_mask
from .geometry import (
    SCALE_HISTORY,
    box_to_state,
    clamp_scale_change,
    paste_scores,
    rescaled_search_scale,
    sample_geometry,
    sample_patch,
    search_scale,
    target_state_from_probabilities,
)
from .instance_branch import InstanceBranch
from .memory import SampleMemory
from .merge import INIT_LOGIT_SCALE, merge_segmentations
from .onnx_backend import apply_backend
from .presence import classifier_confidence, presence_score, segmentation_confidence
from .redetection import CropSettings, search_due, search_frame


def image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """``(H, W, 3) uint8`` -> ``(1, 3, H, W) float32`` (0-255)."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()


class RTS(BaseTracker):
    """Robust visual tracking by segmentation (mask and box every frame)."""

    multiobj_mode = "parallel"
    merge_results = staticmethod(merge_segmentations)

    def __init__(self, params: TrackerParams) -> None:
        super().__init__(params)
        self.net = None
        self.device = torch.device("cpu")
        self.dtype = torch.float32
        self.diagnostics: dict[str, Any] = {}

    def predicts_segmentation_mask(self) -> bool:
        return True

    def initialize_features(self) -> None:
        if self.net is None:
            self.device = (
                torch.device(self.params.device)
                if self.params.has("device")
                else select_device(self.params.get("use_gpu", True))
            )
            spec = self.params.net
            if self.params.get("instance_conditioning", None) is not None:
                # thesis Table 5.1's segmentation without instance conditioning (docs/thesis_vs_release.md
                # R9): a network built with the switch, never a change of the shared cached one
                kwargs = {**spec.constructor_kwargs, "instance_conditioning": bool(self.params.instance_conditioning)}
                spec = dataclasses.replace(spec, constructor_kwargs=kwargs)
            net = load_network(spec, self.device)
            # bf16 islands (backbone, segmentation-feature convolution, decoder) where the precision
            # resolves to bf16; the learners and post-processing stay float32 (see .bf16)
            self.dtype = spec.dtype(self.device)
            net = apply_bf16_islands(net, self.dtype, self.params.get("bf16_parts", BF16_PARTS))
            # backend 'onnx': the network parts in onnxruntime, the learners in PyTorch (docs/export.md)
            self.net = apply_backend(net, self.params)

    # ----- helpers ---------------------------------------------------------------------------
    def _backbone(self, patches: torch.Tensor, layers=None) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return self.net.extract_backbone_features(
                normalize_patches(patches.to(self.device), self.params.net), layers
            )

    def _layer3(self, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        """Backbone up to layer3 only: all that the branches' features and the init samples need."""
        return self._backbone(patches, ["layer3"])

    def _state_from_box(self, box) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Centre, size and search scale of a box ``(x, y, w, h)`` (C.2)."""
        pos, size = box_to_state(box)
        return pos, size, search_scale(size, self.params.search_area_scale, self.img_sample_sz)

    def _centered_sample_pos(self) -> torch.Tensor:
        # Half a feature cell of offset for odd (feature + kernel) sizes (docs/rts.md F.11).
        return self.pos + ((self.feature_sz + self.kernel_size) % 2) * self.target_scale * self.img_sample_sz / (
            2 * self.feature_sz
        )

    def _encode_masks(self, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Label encoding and sample-weight maps of ``(n, H, W)`` masks (cached per memory slot)."""
        with torch.no_grad():
            encoding, weights = self.net.label_encoder(masks[:, None].to(self.device))
        return encoding[:, 0], weights[:, 0]

    # ----- initialisation --------------------------------------------------------------------
    def initialize(self, image: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        self.initialize_features()
        start = time.perf_counter()
        p = self.params
        self.frame_num = 1
        self.object_id = (info.get("object_ids") or [None])[0]
        out: dict[str, Any] = {}
        box = info["init_bbox"]
        init_mask = info.get("init_mask")
        box_only = init_mask is None
        if box_only:
            init_mask = box_to_mask(image, box, method=p.get("box_init_method", "grabcut"), params=p)

        self.img_sample_sz = torch.tensor(p.image_sample_size, dtype=torch.float32)
        self.pos, self.target_sz, self.target_scale = self._state_from_box(box)
        self.base_target_sz = self.target_sz / self.target_scale
        im = image_to_tensor(image)

        self._fit_segmentation(im, init_mask)
        self.clf = InstanceBranch(p, self.net, self.img_sample_sz, self._layer3)
        self.clf.initialize(im, self.pos, self.target_sz)
        self.prev_clf_pos, self.prev_clf_target_sz = self.pos, self.target_sz
        if box_only:
            # The tracker's own first-frame segmentation, re-fitted a few times (docs/rts.md C.10).
            init_mask = refine_box_mask(
                init_mask,
                box,
                predict=lambda: self._predict_first_frame(im, image.shape[:2]),
                fit=lambda refined: self._fit_segmentation(im, refined),
                iterations=p.get("box_init_refine_iter", 0),
            )
            out["segmentation"] = init_mask.astype(np.uint8)
        mask = torch.from_numpy((np.asarray(init_mask) > 0).astype(np.float32))
        out["segmentation_raw"] = ((mask - 0.5) * INIT_LOGIT_SCALE).numpy()

        self.min_mask_area = p.get("min_mask_area", -1)
        self.seg_too_small = bool(np.count_nonzero(np.asarray(init_mask)) <= self.min_mask_area)
        self.is_lost_seg = self.seg_too_small
        self.is_lost_clf = False
        # bounded: only the last SCALE_HISTORY scales are ever read, and a long video must not grow state
        self.target_scales = deque([self.target_scale], maxlen=SCALE_HISTORY)
        self.not_found_count = 0
        # The instance branch enters the presence score once its peak has reached t_sc (.presence).
        self.clf_has_found = False
        # The initial annotation states that the target is there.
        out["object_presence_score"] = 1.0
        out["time"] = time.perf_counter() - start
        return out

    def _fit_segmentation(self, im: torch.Tensor, init_mask: np.ndarray) -> None:
        """Segmentation learner and memory from the first frame and its mask (C.3 steps 3-4)."""
        p = self.params
        mask = torch.from_numpy((np.asarray(init_mask) > 0).astype(np.float32))
        x, masks = self._init_segmentation_sample(im, mask[None, None])
        self.feature_sz = torch.tensor(x.shape[-2:], dtype=torch.float32)
        k = self.net.target_model.filter_size
        self.kernel_size = torch.tensor([k, k], dtype=torch.float32)
        encoding, weight_map = self._encode_masks(masks[:, 0])
        with torch.no_grad():
            self.tau, _, self.seg_losses = self.net.optimize_segmentation_filter(
                x[:, None], encoding[:, None], weight_map[:, None], num_iter=p.net_opt_iter
            )
        self.seg_memory = SampleMemory(
            p.sample_memory_size, p.learning_rate, p.get("init_samples_minimum_weight", None)
        )
        self.seg_memory.initialize(features=x, encodings=encoding, weight_maps=weight_map)

    def _predict_first_frame(self, im: torch.Tensor, image_shape: tuple[int, int]) -> np.ndarray:
        """Image-sized mask logits of the first frame with the current learners (crop as in track,
        without touching the instance branch's frame count or memory)."""
        p = self.params
        patch, coords = sample_patch(
            im,
            self._centered_sample_pos(),
            self.target_scale * self.img_sample_sz,
            self.img_sample_sz.long().tolist(),
            mode=p.get("border_mode", "replicate"),
            max_scale_change=p.get("patch_max_scale_change", None),
            half_pixel_corners=p.get("crop_half_pixel_corners", False),
        )
        feat = self._backbone(patch)
        with torch.no_grad():
            x_s = self.net.extract_target_model_features(feat["layer3"])
            x_c = self.net.extract_classification_feat(feat["layer3"])
            encoded = self.net.clf_encoder(self.net.classify(self.clf.kappa, x_c[:, None]), with_weights=False)
            scores, _ = self.net.segment_target(self.tau, x_s[:, None], feat, encoded, tuple(patch.shape[-2:]))
        centre, scale = sample_geometry(coords, self.img_sample_sz.long().tolist())
        return paste_scores(scores[0, 0].float().cpu(), centre, scale, image_shape).numpy()

    def _init_segmentation_sample(self, im: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Target-model features and mask crop of the first frame (C.3.3): a 2x crop cut to size."""
        p = self.params
        mode = p.get("border_mode", "replicate")
        if "inside" in mode:
            im_sz = torch.tensor(im.shape[-2:], dtype=torch.float32)
            sample_sz = self.target_scale * self.img_sample_sz
            ratio = sample_sz / im_sz
            shrink = (ratio.max() if mode == "inside" else ratio.min()).clamp(min=1)
            if p.get("patch_max_scale_change", None) is not None:
                shrink = shrink.clamp(max=p.patch_max_scale_change)
            sample_sz = sample_sz / shrink
            scale = (sample_sz / self.img_sample_sz).prod().sqrt()
            top_left = self.pos - (sample_sz - 1) / 2
            bottom_right = self.pos + sample_sz / 2 + 1
            shift = -((-top_left).clamp(min=0) - (bottom_right - im_sz).clamp(min=0)) / scale
        else:
            scale, shift = self.target_scale, torch.zeros(2)
        half = p.get("crop_half_pixel_corners", False)
        sample_pos = self.pos.round()
        expanded = (self.img_sample_sz * 2).long()
        expanded = expanded + (expanded - self.img_sample_sz.long()) % 2
        out_size = tuple(self.img_sample_sz.long().tolist())
        identity = Augmentation("identity", output_size=out_size, shift=tuple(int(v) for v in shift.long()))
        crop_size = scale * expanded.float()
        patch, _ = sample_patch(im, sample_pos, crop_size, expanded.tolist(), half_pixel_corners=half)
        mask_patch, _ = sample_patch(
            mask, sample_pos, crop_size, expanded.tolist(), is_mask=True, half_pixel_corners=half
        )
        x = self.net.extract_target_model_features(self._layer3(identity(patch))["layer3"])
        return x, identity(mask_patch).to(self.device)

    # ----- per frame -------------------------------------------------------------------------
    def track(self, image: np.ndarray, info: dict[str, Any] | None = None) -> dict[str, Any]:
        p = self.params
        self.frame_num += 1
        diag: dict[str, Any] = {"frame": self.frame_num}
        self.diagnostics = diag
        previous = (info or {})["previous_output"]["segmentation_raw"]
        if self.object_id is not None:
            previous = previous[self.object_id]
        prev_prob = torch.from_numpy(np.asarray(previous, dtype=np.float32))

        self._update_segmentation_model(prev_prob, diag)
        self._reposition(prev_prob, diag)

        im = image_to_tensor(image)
        if p.get("redetect", False):
            self._redetect(im, diag)
        half = p.get("crop_half_pixel_corners", False)
        sample_pos = self._centered_sample_pos()
        patch, coords = sample_patch(
            im,
            sample_pos,
            self.target_scale * self.img_sample_sz,
            self.img_sample_sz.long().tolist(),
            mode=p.get("border_mode", "replicate"),
            max_scale_change=p.get("patch_max_scale_change", None),
            half_pixel_corners=half,
        )
        feat = self._backbone(patch)
        with torch.no_grad():
            x_s = self.net.extract_target_model_features(feat["layer3"])
            x_c, clf_scores = self.clf.classify(feat["layer3"])
            encoded = self.net.clf_encoder(clf_scores, with_weights=False)
            scores, _ = self.net.segment_target(self.tau, x_s[:, None], feat, encoded, tuple(patch.shape[-2:]))
        crop_centre, crop_scale = sample_geometry(coords, self.img_sample_sz.long().tolist())
        scores_im = paste_scores(scores[0, 0].float().cpu(), crop_centre, crop_scale, image.shape[:2])

        mask = (scores_im > 0).numpy().astype(np.uint8)
        box = mask_to_bbox(mask)
        probabilities = torch.sigmoid(scores_im)
        probability_sum = float(probabilities.sum())
        self.is_lost_seg = box == list(EMPTY_BOX)
        self.seg_too_small = probability_sum <= self.min_mask_area
        seg_state = None
        if not (self.is_lost_seg or self.seg_too_small):
            pos, size, scale = self._state_from_box(box)
            seg_state = {"pos": pos, "size": size, "scale": scale}
        clf_box, self.prev_clf_pos, self.prev_clf_target_sz = self.clf.update(x_c, clf_scores, coords, seg_state)
        self.is_lost_clf = self.clf.flag == "not_found"
        self.prev_sample_pos, self.prev_target_scale, self.prev_x = sample_pos, self.target_scale, x_s

        max_logit = float(scores.max())
        presence = self._presence(max_logit, probability_sum, diag)
        out = {
            "segmentation": mask,
            "target_bbox": box,
            "segmentation_raw": (probabilities if self.object_id is None else scores_im).numpy(),
            "clf_target_bbox": clf_box,
            "clf_search_area": self.clf.search_area_box,
            "object_presence_score": presence,
        }
        fallback = p.get("trust_clf_always", False) or (
            (self.is_lost_seg or self.seg_too_small) and p.get("use_clf_box_when_no_seg", True)
        )
        if fallback:
            out["target_bbox"] = clf_box
        diag.update(
            clf_max_score=self.clf.max_score,
            clf_flag=self.clf.flag,
            clf_updated=self.clf.updated,
            clf_num_stored=self.clf.memory.num_stored,
            is_lost_seg=self.is_lost_seg,
            seg_too_small=self.seg_too_small,
            is_lost_clf=self.is_lost_clf,
            fallback_clf_box=fallback,
            img_pixels_pos=int(mask.sum()),
            sigmoid_sum_img=probability_sum,
            max_seg_score_crop=max_logit,
        )
        self._show_debug(clf_scores, mask, diag)
        return out

    def _presence(self, max_logit: float, probability_sum: float, diag: dict[str, Any]) -> float:
        """This frame's target-presence score in [0, 1] from both branches (docs/rts.md "Presence score")."""
        p = self.params
        seg = segmentation_confidence(max_logit, probability_sum, self.min_mask_area)
        found_threshold = p.clf_target_not_found_threshold
        peak = self.clf.max_score
        self.clf_has_found = self.clf_has_found or (peak is not None and peak >= found_threshold)
        clf = classifier_confidence(peak, found_threshold) if self.clf_has_found else None
        score = presence_score(seg, clf)
        diag.update(presence_seg=seg, presence_clf=clf, object_presence_score=score)
        return score

    def _update_segmentation_model(self, prev_prob: torch.Tensor, diag: dict[str, Any]) -> None:
        """Store the previous frame's probabilities and refine tau (C.4.2, memory rules of the code)."""
        p = self.params
        init_buffer = p.get("alr_init_buff", 100)
        force = init_buffer > 0 and self.frame_num < init_buffer
        safe = p.get("seg_mem_safe", True)
        allowed = (
            (not safe) or (p.get("strict_force_seg", True) and force) or (not self.is_lost_seg and not self.is_lost_clf)
        )
        diag["seg_update_iters"] = 0
        if not (self.frame_num > 2 and p.get("update_target_model", True) and allowed):
            return
        half = p.get("crop_half_pixel_corners", False)
        crop, _ = sample_patch(
            prev_prob[None, None],
            self.prev_sample_pos,
            self.prev_target_scale * self.img_sample_sz,
            self.img_sample_sz.long().tolist(),
            mode=p.get("border_mode", "replicate"),
            max_scale_change=p.get("patch_max_scale_change", None),
            is_mask=True,
            half_pixel_corners=half,
        )
        diag["seg_memory_size_before_update"] = self.seg_memory.num_stored
        if self.frame_num % p.get("train_sample_interval", 1) == 0 or force:
            encoding, weight_map = self._encode_masks(crop[:, 0])
            self.seg_memory.add(features=self.prev_x[0], encodings=encoding[0], weight_maps=weight_map[0])
        num_iter = p.get("net_opt_update_iter", 0) if (self.frame_num - 1) % p.train_skipping == 0 or force else 0
        if num_iter > 0:
            memory = self.seg_memory
            temporal = memory.stored_weights().to(torch.float32).to(self.device).view(-1, 1, 1, 1, 1)
            with torch.no_grad():
                self.tau, _, _ = self.net.optimize_segmentation_filter(
                    memory.stored("features")[:, None],
                    memory.stored("encodings")[:, None],
                    memory.stored("weight_maps")[:, None] * temporal,
                    tau=self.tau,
                    num_iter=num_iter,
                )
        diag["seg_update_iters"] = num_iter
        diag["seg_sample_weights_first4"] = [float(w) for w in self.seg_memory.weights[:4]]

    def _reposition(self, prev_prob: torch.Tensor, diag: dict[str, Any]) -> None:
        """Move and rescale the search area from last frame's result (the four cases of C.4 step 3)."""
        p = self.params
        diag["target_scale_before"] = float(self.target_scale)
        diag["raw_scale_change"], diag["scale_clipped"] = None, False
        no_seg = self.seg_too_small or self.is_lost_seg
        if self.is_lost_clf and no_seg:
            case = "both_lost_rescale_search_area"
            self._search_area_rescaling()
        elif p.get("trust_clf_when_no_seg", True) and no_seg:
            case = "no_seg_use_clf_box"
            self.pos, self.target_sz = self.prev_clf_pos, self.prev_clf_target_sz
            self._update_target_scale(diag)
        elif p.get("trust_seg_when_no_clf", False) and self.is_lost_clf:
            case = "clf_lost_use_seg_box"
            self._set_state_from_probabilities(prev_prob)
            self._update_target_scale(diag)
        elif not self.is_lost_clf and not no_seg:
            case = "both_ok_use_seg_box"
            if p.get("trust_clf_always", False):
                self.pos, self.target_sz = self.prev_clf_pos, self.prev_clf_target_sz
            else:
                self._set_state_from_probabilities(prev_prob)
            self._update_target_scale(diag)
        else:
            case = "clf_lost_seg_ok_no_update"  # case (iii): treated as lost (docs/rts.md F.3)
            self._search_area_rescaling()
        diag.update(
            update_case=case,
            target_scale_after=float(self.target_scale),
            pos_yx=[float(v) for v in self.pos],
            target_sz_hw=[float(v) for v in self.target_sz],
        )

    def _redetect(self, im: torch.Tensor, diag: dict[str, Any]) -> None:
        """While both branches are lost (every ``redetect_interval`` frames once ``redetect_after``
        frames have passed), search the whole frame with the instance model; a peak of at least
        ``redetect_threshold`` moves the search area there at the last valid scale."""
        p = self.params
        due = diag.get("update_case") == "both_lost_rescale_search_area" and search_due(
            self.not_found_count, p.get("redetect_after", 3), p.get("redetect_interval", 2)
        )
        diag.update(redetect_ran=due, redetect_score=None, redetect_accepted=False, redetect_tiles=0)
        if not due:
            return
        scale = self.target_scales[-1].to(torch.float32)
        found = search_frame(
            self.net,
            self.clf.kappa,
            self._layer3,
            im,
            float(scale),
            self.img_sample_sz,
            self.clf.ksz_even,
            p.get("redetect_max_tiles", 16),
            CropSettings.from_params(p),
        )
        diag.update(redetect_score=found.score, redetect_tiles=found.tiles)
        if found.score >= p.get("redetect_threshold", 0.5):
            self.pos, self.target_scale = found.pos, scale
            self.target_sz = self.base_target_sz * scale
            self.not_found_count = 0
            diag["redetect_accepted"] = True

    def _set_state_from_probabilities(self, prob: torch.Tensor) -> None:
        state = target_state_from_probabilities(prob, self.params.get("seg_to_bb_sz_factor", 4))
        if state is not None:
            self.pos, self.target_sz = state

    def _update_target_scale(self, diag: dict[str, Any]) -> None:
        new_scale = torch.sqrt(self.target_sz.prod() / self.base_target_sz.prod())
        diag["raw_scale_change"] = float(new_scale / self.target_scale)
        limits = self.params.get("max_scale_change", None)
        if limits is not None:
            limits = tuple(limits) if isinstance(limits, (tuple, list)) else (limits, limits)
            clipped = clamp_scale_change(new_scale, self.target_scale, limits)
            diag["scale_clipped"] = bool(clipped != new_scale)
            new_scale = clipped
        self.target_scale = new_scale
        # Only the scale of the new box is kept; the size keeps the initial aspect ratio (docs/rts.md F.6).
        self.target_sz = self.base_target_sz * self.target_scale
        self.target_scales.append(self.target_scale)
        self.not_found_count = 0

    def _search_area_rescaling(self) -> None:
        if not self.params.get("rescale_when_lost", True) or not self.target_scales:
            return
        self.not_found_count += 1
        self.target_scale = torch.tensor(
            rescaled_search_scale([float(s) for s in self.target_scales], self.not_found_count), dtype=torch.float32
        )

    def _show_debug(self, clf_scores: torch.Tensor, mask: np.ndarray, diag: dict[str, Any]) -> None:
        if self.debug_views is None:
            return
        suffix = "" if self.object_id is None else f" {self.object_id}"
        self.debug_views.register(clf_scores.reshape(clf_scores.shape[-2:]).cpu(), "heatmap", f"Clf scores{suffix}", 2)
        self.debug_views.register(np.repeat(mask[..., None] * 255, 3, axis=2), "image", f"Mask{suffix}", 2)
        self.debug_views.register(diag, "info", f"Status{suffix}", 1)
