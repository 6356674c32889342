"""The RTS tracker: parity with the official tracker's outputs, init augmentations, multi-object use."""

import json

import numpy as np
import pytest
import torch

from ltr_ext.admin.loading import load_network
from ltr_ext.models.rts import RTSNet, build_rts50
from pytracking_ext.api import VideoTracker
from pytracking_ext.evaluation.network_loading import NetworkNotFoundError
from pytracking_ext.evaluation.running import build_tracker, track_sequence
from pytracking_ext.evaluation.tracker_spec import TrackerSpec
from pytracking_ext.trackers import get_parameters, get_tracker_class
from pytracking_ext.trackers.rts.augmentation import build_augmentations, crop_to_output, gaussian_blur
from pytracking_ext.trackers.rts.geometry import sample_patch
from pytracking_ext.utils.io import imread_rgb
from script_loading import load_script
from seqgen import moving_square_sequence

MASK_TOLERANCE = 0.001  # the bound: masks may differ on at most 0.1 % of the pixels


@pytest.fixture(scope="module")
def official_run(shared_dir, tmp_path_factory):
    """Our tracker with seed-0 synthetic weights on the reference sequence, frame by frame."""
    folder = shared_dir / "fixtures" / "rts"
    module = load_script(shared_dir / "fixtures" / "synth_weights.py", "synth_weights")
    weights = tmp_path_factory.mktemp("rts_seed0") / "rts50_seed0.pth"
    torch.save(module.make_state_dict(str(folder / "state_dict_manifest.json"), 0), weights)
    params = get_parameters("rts", "rts50")
    params.net.path = str(weights)
    params.use_gpu = False
    tracker = get_tracker_class("rts")(params)
    ref = folder / "tracker_ref"
    frames = sorted((ref / "frames").glob("*.jpg"))
    init_box = [float(v) for v in (ref / "init_box.txt").read_text().split()]
    init_mask = (imread_rgb(ref / "init_mask.png")[..., 0] > 127).astype(np.uint8)
    out = tracker.initialize(imread_rgb(frames[0]), {"init_bbox": init_box, "init_mask": init_mask})
    results = []
    for path in frames[1:]:
        out = tracker.track(imread_rgb(path), {"previous_output": out})
        results.append((out, dict(tracker.diagnostics)))
    return ref, init_box, results


def test_tracker_boxes_equal_the_official_ones_on_every_frame(official_run):
    ref, _, results = official_run
    expected = np.loadtxt(ref / "boxes.txt")[1:]
    np.testing.assert_allclose([out["target_bbox"] for out, _ in results], expected, atol=1e-4)


def test_tracker_masks_differ_from_the_official_ones_on_at_most_a_thousandth_of_the_pixels(official_run):
    ref, _, results = official_run
    for t, (out, _) in enumerate(results, start=2):
        expected = imread_rgb(ref / "masks" / f"{t:05d}.png")[..., 0] > 127
        assert (expected != (out["segmentation"] > 0)).mean() <= MASK_TOLERANCE, t


def test_tracker_decisions_and_scores_follow_the_official_run(official_run):
    ref, _, results = official_run
    diagnostics = json.loads((ref / "diagnostics.json").read_text())["frames"]
    for (_, ours), theirs in zip(results, diagnostics):
        for key in (
            "update_case",
            "clf_flag",
            "is_lost_seg",
            "seg_too_small",
            "is_lost_clf",
            "fallback_clf_box",
            "seg_update_iters",
            "clf_num_stored",
        ):
            assert ours[key] == theirs[key], (theirs["frame"], key)
        assert ours["target_scale_after"] == pytest.approx(theirs["target_scale_after"], rel=1e-6)
        assert ours["clf_max_score"] == pytest.approx(theirs["clf_max_score"], abs=1e-4)


def test_tracker_returns_probabilities_and_the_classifier_box(official_run):
    _, _, results = official_run
    out, _ = results[0]
    assert out["segmentation_raw"].shape == out["segmentation"].shape == (480, 640)
    assert 0.0 <= out["segmentation_raw"].min() and out["segmentation_raw"].max() <= 1.0
    assert len(out["clf_target_bbox"]) == 4 and len(out["clf_search_area"]) == 4


# ----- building blocks -------------------------------------------------------------------------
def test_init_augmentations_are_identity_flip_and_blurs_in_the_release_order():
    augs = build_augmentations({"blur": [(3, 1), (1, 3), (2, 2)], "fliplr": True})
    assert [a.name for a in augs] == ["identity", "fliplr", "blur(3.0, 1.0)", "blur(1.0, 3.0)", "blur(2.0, 2.0)"]
    patch = torch.rand(1, 3, 8, 10)
    assert torch.equal(augs[0](patch), patch) and torch.equal(augs[1](patch), patch.flip(-1))


def test_unknown_init_augmentation_is_named_in_the_error():
    with pytest.raises(ValueError, match="'rotate'.*known: blur, fliplr, shift"):
        build_augmentations({"rotate": [10]})


def test_blur_preserves_a_constant_image_away_from_the_zero_border():
    blurred = gaussian_blur(torch.full((1, 1, 30, 30), 5.0), (2.0, 2.0))
    assert torch.allclose(blurred[..., 4:-4, 4:-4], torch.tensor(5.0))
    assert blurred[0, 0, 0, 15] < 5.0  # zero padding darkens the border, as in the reference


def test_crop_to_output_cuts_around_the_shifted_centre_and_replicates_outside():
    patch = torch.arange(36.0).view(1, 1, 6, 6)
    assert torch.equal(crop_to_output(patch, (2, 2), (0, 0)), patch[..., 2:4, 2:4])
    assert torch.equal(crop_to_output(patch, (2, 2), (1, -1)), patch[..., 1:3, 3:5])
    grown = crop_to_output(patch, (8, 6), (0, 0))
    assert torch.equal(grown[..., 0, :], patch[..., 0, :]) and grown.shape[-2:] == (8, 6)


def test_half_pixel_corners_inside_the_image_take_one_more_pixel_and_are_reported():
    image = torch.arange(400.0).view(1, 1, 20, 20)
    exact, exact_coords = sample_patch(image, torch.tensor([10.0, 10.0]), torch.tensor([6.0, 5.0]))
    half, half_coords = sample_patch(
        image, torch.tensor([10.0, 10.0]), torch.tensor([6.0, 5.0]), half_pixel_corners=True
    )
    assert exact.shape[-2:] == (6, 5) and half.shape[-2:] == (7, 6)
    assert exact_coords.tolist() == [8, 8, 14, 13] and half_coords.tolist() == [7.5, 8.0, 14.0, 13.5]
    assert torch.equal(half[..., 1:, :5], exact)


def test_load_network_recognises_a_bare_rts50_state_dict(tmp_path):
    torch.manual_seed(0)
    torch.save(build_rts50().state_dict(), tmp_path / "rts50.pth")
    net, _ = load_network(tmp_path / "rts50.pth")
    assert isinstance(net, RTSNet)


def test_missing_weights_name_the_file_and_the_setting(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(tmp_path / "nowhere"))
    tracker = get_tracker_class("rts")(get_parameters("rts", "rts50"))
    with pytest.raises(NetworkNotFoundError, match=r"nowhere/rts50.pth.*PYTRACKING_NETWORK_PATH"):
        tracker.initialize_features()


def test_rts_tracks_two_objects_with_merged_labels_and_per_object_boxes(
    workspace, tmp_path, monkeypatch, rts_network_dir
):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(rts_network_dir))
    seq = moving_square_sequence(tmp_path, frames=3, objects=2, with_masks=True)
    tracker = build_tracker(TrackerSpec("rts", "rts50"), seq, multiobject=True)
    out = track_sequence(tracker, seq, progress=False)
    labels = out.segmentation[-1]
    assert labels.shape == (64, 80) and set(np.unique(labels)) <= {0, 1, 2}
    assert set(out.target_bbox[-1]) == {"1", "2"}


def test_rts_streams_objects_added_with_a_mask_or_a_box_and_removed(workspace, tmp_path, monkeypatch, rts_network_dir):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(rts_network_dir))
    seq = moving_square_sequence(tmp_path, frames=3, objects=2, with_masks=True)
    tracker = VideoTracker.from_tracker(build_tracker(TrackerSpec("rts", "rts50"), multiobject=True))
    frames = [imread_rgb(f) for f in seq.frames]
    first_mask = np.zeros((64, 80), np.uint8)
    x, y, w, h = (int(v) for v in seq.ground_truth_rect["1"][0])
    first_mask[y : y + h, x : x + w] = 1
    tracker.add_object(frames[0], mask=first_mask, obj_id=1)
    first = tracker.track(frames[0])  # the frame the object was added on: its result, not tracked twice
    assert list(first) == [1] and np.array_equal(first[1].mask, first_mask > 0)
    tracker.add_object(frames[1], box=seq.ground_truth_rect["2"][1], obj_id=2)  # box only: GrabCut init
    second = tracker.track(frames[1])
    assert list(second) == [1, 2] and all(r.mask.shape == (64, 80) for r in second.values())
    tracker.remove_object(1)
    assert list(tracker.track(frames[2])) == [2]
