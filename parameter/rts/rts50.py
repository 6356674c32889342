"""RTS with the rts50 network: the values of the official release (docs/rts.md C.1).

Weights: ``rts50.pth`` under the ``network_path`` setting (env ``PYTRACKING_NETWORK_PATH``);
nothing is loaded here. Runs on the GPU when present, else on the CPU.
"""

from pytracking_ext.evaluation.network_loading import NetworkSpec
from pytracking_ext.trackers.params import TrackerParams


def parameters(net_path: str = "rts50.pth") -> TrackerParams:
    params = TrackerParams(
        debug=0,
        visualization=False,
        multiobj_mode="parallel",
        use_gpu=True,
        # box-only initialisation: GrabCut seed mask, no extra network (pytracking_ext/trackers/rts/box_init.py)
        box_init_method="grabcut",
        # lost = presence score below this (docs/rts.md "Presence score"; chosen for the shipped rts_small
        # on generated LaSOT-style videos, not measured for rts50)
        presence_threshold=0.5,
        # box-only start: the seed mask re-fitted from the tracker's own first-frame segmentation (docs/rts.md C.10)
        box_init_refine_iter=8,
        seg_to_bb_mode="var",
        min_mask_area=100,
        # search area and crops
        image_sample_size=(30 * 16, 52 * 16),
        search_area_scale=6.0,
        border_mode="inside_major",
        patch_max_scale_change=None,
        # crop corners as the release computes them on current PyTorch (see geometry.sample_patch)
        crop_half_pixel_corners=True,
        max_scale_change=(0.8, 1.2),
        # segmentation branch memory and learner
        sample_memory_size=32,
        learning_rate=0.1,
        init_samples_minimum_weight=0.25,
        train_skipping=20,
        update_target_model=True,
        net_opt_iter=20,
        net_opt_update_iter=3,
        # instance branch
        clf_image_sample_size=(30 * 16, 52 * 16),
        clf_search_area_scale=6.0,
        clf_border_mode="inside_major",
        clf_patch_max_scale_change=None,
        clf_sample_memory_size=50,
        clf_learning_rate=0.01,
        clf_train_skipping=20,
        update_classifier=True,
        clf_net_opt_iter=10,
        clf_net_opt_update_iter=2,
        clf_net_opt_hn_iter=1,
        clf_output_sigma_factor=1 / 4,
        clf_advanced_localization=True,
        clf_target_not_found_threshold=0.30,  # t_sc (thesis Table 5.2 sweeps 0.2 / 0.3 / 0.4)
        # instance-branch fallback (thesis Table 5.2): while the segmentation finds nothing, the
        # instance box re-centres the search area and is the reported box (off: both False)
        trust_clf_when_no_seg=True,
        use_clf_box_when_no_seg=True,
        # memory and search-area rules where the release differs from the thesis text
        # (docs/thesis_vs_release.md; the release's values, read with these defaults by the tracker)
        alr_init_buff=100,  # segmentation memory forced to update on frames 1..99
        strict_force_seg=True,  # ... even when a branch is lost (False: only when both are fine)
        seg_mem_safe=True,  # False: update the segmentation memory whatever the branches say
        trust_seg_when_no_clf=False,  # "instance lost, segmentation fine": True re-centres on the mask
        use_seg_pos_sz_for_clf_update=True,  # the instance memory learns the mask's position (False: its own peak's)
        clf_target_not_found_threshold_too_small=0.50,  # unused by the release (kept for reference)
        clf_distractor_threshold=10000,
        clf_hard_negative_threshold=10000,
        clf_target_neighborhood_scale=2.2,
        clf_displacement_scale=0.8,
        clf_hard_negative_learning_rate=0.02,
        clf_use_augmentation=True,
        clf_augmentation={"fliplr": True, "blur": [(3, 1), (1, 3), (2, 2)]},
        # where the network parts run: 'torch', or 'onnx' (onnxruntime; the learners stay in PyTorch,
        # docs/export.md); onnx_dir: an export of this network (None: exported into the cache on first use)
        backend="torch",
        onnx_dir=None,
        # None: the network file's own; False: segmentation without instance conditioning (thesis Table 5.1)
        instance_conditioning=None,
    )
    params.net = NetworkSpec(
        net_path,
        image_format="bgr255",
        mean=(102.9801, 115.9465, 122.7717),
        std=(1.0, 1.0, 1.0),
        constructor="ltr_ext.models.rts:build_rts50",
    )
    return params
