"""RTS tracker building blocks: memories, soft aggregation, target state, crops, pasting."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

from pytracking_ext.trackers.rts.geometry import (
    box_to_state,
    clamp_scale_change,
    fitted_sample_size,
    paste_scores,
    rescaled_search_scale,
    sample_geometry,
    sample_patch,
    state_to_box,
    target_state_from_probabilities,
)
from pytracking_ext.trackers.rts.memory import SampleMemory
from pytracking_ext.trackers.rts.merge import merge_segmentations, soft_aggregate


def test_memory_weights_decay_geometrically_and_sum_to_one():
    memory = SampleMemory(size=4, learning_rate=0.1)
    memory.initialize(x=torch.zeros(1, 2))
    for value in (1.0, 2.0):
        memory.add(x=torch.full((2,), value))
    weights = memory.stored_weights()
    assert torch.isclose(weights.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert weights[2] > weights[1]  # the newest sample weighs most among the added ones
    assert torch.isclose(weights[2] / weights[1], torch.tensor(1 / 0.9, dtype=torch.float64))


def test_full_memory_replaces_the_lightest_sample():
    memory = SampleMemory(size=3, learning_rate=0.1)
    memory.initialize(x=torch.zeros(1, 1))
    slots = [memory.add(x=torch.full((1,), float(i))) for i in range(1, 5)]
    assert slots == [1, 2, 1, 2]  # the oldest added sample is the lightest once the memory is full


def test_protected_init_sample_keeps_its_minimum_weight():
    memory = SampleMemory(size=3, learning_rate=0.5, init_min_weight=0.25)
    memory.initialize(x=torch.zeros(1, 1))
    slots = [memory.add(x=torch.full((1,), float(i))) for i in range(1, 6)]
    assert 0 not in slots
    # The reference rule pins the init share at 0.25 but rescales the rest by 1 / (0.25 + S),
    # so the total is only approximately one; we keep that arithmetic for parity.
    assert memory.weights[0] == pytest.approx(0.25) and memory.weights.sum() == pytest.approx(1.0, abs=0.1)


def test_soft_aggregation_is_a_distribution_with_background_first():
    logits = np.array([[[5.0, -5.0]], [[-5.0, 5.0]]])
    probs = soft_aggregate(logits)
    assert probs.shape == (3, 1, 2) and np.allclose(probs.sum(axis=0), 1)
    assert probs.argmax(axis=0).tolist() == [[1, 2]]


def test_merge_gives_labels_and_boxes_from_labels():
    a = np.full((4, 6), -10.0)
    a[:2, :3] = 10
    b = np.full((4, 6), -10.0)
    b[2:, 4:] = 10
    merged = merge_segmentations(
        OrderedDict(
            [("1", {"segmentation_raw": a, "time": 0.1}), ("3", {"segmentation": (b > 0).astype(float), "time": 0.2})]
        )
    )
    assert merged["segmentation"][0, 0] == 1 and merged["segmentation"][3, 5] == 3
    assert merged["target_bbox"]["3"] == [4.0, 2.0, 2.0, 2.0]
    assert merged["time"] == {"1": 0.1, "3": 0.2}


def test_box_state_round_trip():
    pos, size = box_to_state([10, 20, 30, 40])
    assert pos.tolist() == [39.5, 24.5] and size.tolist() == [40, 30]
    assert state_to_box(pos, size) == [10.0, 20.0, 30.0, 40.0]


def test_target_state_of_a_uniform_box_uses_four_standard_deviations():
    prob = torch.zeros(100, 100)
    prob[20:50, 10:70] = 1
    pos, size = target_state_from_probabilities(prob)
    assert torch.allclose(pos, torch.tensor([34.5, 39.5]))
    assert torch.allclose(size, 4 * torch.tensor([np.sqrt((30**2 - 1) / 12), np.sqrt((60**2 - 1) / 12)]).float())
    assert target_state_from_probabilities(torch.full((5, 5), -100.0)) is None


def test_scale_change_is_clamped_and_lost_search_grows_from_history():
    assert clamp_scale_change(2.0, 1.0, (0.8, 1.2)) == pytest.approx(1.2)
    assert clamp_scale_change(0.5, 1.0, (0.8, 1.2)) == pytest.approx(0.8)
    assert rescaled_search_scale([1.0, 3.0, 2.0, 2.5], not_found_count=1) == pytest.approx(2.75)


def test_replicate_crop_inside_the_image_is_exact():
    image = torch.arange(20 * 30, dtype=torch.float32).reshape(1, 1, 20, 30)
    patch, coords = sample_patch(image, torch.tensor([10, 15]), torch.tensor([6.0, 8.0]))
    assert coords.tolist() == [8, 12, 14, 20]
    assert torch.equal(patch, image[..., 8:14, 12:20])


def test_replicate_crop_outside_the_image_repeats_the_border():
    image = torch.arange(12, dtype=torch.float32).reshape(1, 1, 3, 4)
    patch, coords = sample_patch(image, torch.tensor([0, 0]), torch.tensor([3.0, 3.0]))
    assert coords.tolist() == [-1, -1, 2, 2]
    assert patch[0, 0].tolist() == [[0, 0, 1], [0, 0, 1], [4, 4, 5]]


def test_inside_major_crop_shrinks_to_fit_one_axis_and_shifts_inside():
    image = torch.rand(1, 3, 40, 100)
    patch, coords = sample_patch(image, torch.tensor([5, 95]), torch.tensor([80.0, 160.0]), mode="inside_major")
    # shrink 1.6 makes the width fit exactly; the 50-row height overflows and is centred
    assert coords.tolist() == [-5, 0, 45, 100]
    assert torch.equal(patch[..., 5:45, :], image) and torch.equal(patch[..., 0, :], image[..., 0, :])


def test_inside_major_shrink_gives_the_whole_size_that_float_noise_straddles():
    # A crop of the network input's aspect (320 x 576) shrunk to a 480-row frame is 864 wide in exact
    # arithmetic; float32 lands a hair above or below it, and plain truncation cut 863 or 864 at random.
    widths = set()
    for scale in np.linspace(3.0, 6.0, 301):
        size = torch.tensor([320.0, 576.0]) * float(scale)
        widths.add(tuple(fitted_sample_size(size, (480, 854), "inside_major").tolist()))
        widths.add(tuple(fitted_sample_size(size * (1 - 1e-7), (480, 854), "inside_major").tolist()))
    assert widths == {(480.0, 864.0)}


def test_mask_crop_pads_with_zeros():
    mask = torch.ones(1, 1, 4, 4)
    patch, _ = sample_patch(mask, torch.tensor([0, 0]), torch.tensor([4.0, 4.0]), is_mask=True)
    assert patch[0, 0, 0].tolist() == [0, 0, 0, 0] and patch[0, 0, 3, 3] == 1


def test_sample_geometry_of_a_crop():
    centre, scale = sample_geometry(torch.tensor([0, 0, 48, 83]), (24, 83))
    assert centre.tolist() == [23.5, 41.0] and scale == pytest.approx(np.sqrt(2.0))


def test_pasted_scores_land_at_the_crop_and_fill_elsewhere():
    scores = torch.ones(4, 6)
    out = paste_scores(scores, torch.tensor([10.0, 10.0]), 2.0, (30, 30))
    assert out.shape == (30, 30) and out[10, 10] == 1 and out[0, 0] == -100
    assert int((out == 1).sum()) == 8 * 12


def test_init_blur_equals_a_zero_padded_separable_gaussian_convolution():
    import math

    import torch.nn.functional as F

    from pytracking_ext.trackers.rts.augmentation import gaussian_blur

    torch.manual_seed(0)
    patch = torch.rand(1, 3, 20, 30) * 255
    sigma = (3.0, 1.0)
    expected = patch.reshape(-1, 1, 20, 30)
    for axis, s in enumerate(sigma):
        radius = math.ceil(2 * s)
        taps = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2) / (2 * s**2))
        kernel = (taps / taps.sum()).view(1, 1, -1, 1) if axis == 0 else (taps / taps.sum()).view(1, 1, 1, -1)
        expected = F.conv2d(expected, kernel, padding=(radius, 0) if axis == 0 else (0, radius))
    torch.testing.assert_close(gaussian_blur(patch, sigma), expected.view(patch.shape), rtol=1e-5, atol=1e-3)


def test_memory_keeps_channels_last_feature_maps_channels_last():
    features = torch.randn(1, 8, 5, 7).contiguous(memory_format=torch.channels_last)
    memory = SampleMemory(size=3, learning_rate=0.1)
    memory.initialize(features=features)
    memory.add(features=torch.randn(8, 5, 7))
    assert memory.stored("features").is_contiguous(memory_format=torch.channels_last)
