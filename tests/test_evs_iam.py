"""EVS IAM: forward-backward label check (eq. 3.3), dilation + smoothing, blend (eq. 3.4)."""

import cv2
import numpy as np
import pytest
import torch

from pytracking_ext.errors import UnknownNameError
from segmentation_plugins.evs.errors import EVSConfigError, EVSInputError
from segmentation_plugins.evs.flow import FlowEstimator
from segmentation_plugins.evs.iam import (
    InconsistencyAttention,
    _soften_torch,
    blend,
    forward_backward_labels,
    inconsistency_map,
    inconsistent_fraction,
    soften_mask,
)
from segmentation_plugins.evs.warp import Warper

H, W = 192, 320


pytestmark = pytest.mark.usefixtures("one_cv2_thread")


def texture(h: int, w: int, seed: int) -> np.ndarray:
    """Multi-octave smooth noise as uint8."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    for s in (2, 4, 8, 16):
        noise = rng.standard_normal((h // s + 2, w // s + 2)).astype(np.float32)
        img += cv2.resize(noise, (w + 2 * s, h + 2 * s), interpolation=cv2.INTER_CUBIC)[s : s + h, s : s + w] * s**0.5
    return ((img - img.min()) / (img.max() - img.min()) * 255).astype(np.uint8)


def constant_flow(h: int, w: int, dx: float, dy: float) -> np.ndarray:
    flow = np.empty((h, w, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


# ---- eq. 3.3 ----------------------------------------------------------------------------------


def test_pure_translation_is_consistent_except_where_sampled_outside_the_frame():
    labels = np.random.default_rng(0).integers(0, 19, (64, 96), dtype=np.uint8)
    l_f, l_bf = forward_backward_labels(labels, Warper(constant_flow(64, 96, 5, 2)))
    mask = inconsistency_map(l_f, l_bf)
    expected = np.zeros((64, 96), bool)
    expected[:2] = expected[:, :5] = True
    np.testing.assert_array_equal(mask, expected)
    assert inconsistent_fraction(mask) == pytest.approx(expected.mean())
    assert not inconsistency_map(l_f, l_bf, ignore_value=None).any()


def test_dis_translation_is_clean_in_the_interior():
    big = texture(H + 40, W + 40, 0)
    labels = (cv2.GaussianBlur(big, (0, 0), 3).astype(np.int32) * 5 // 256).astype(np.uint8)
    prev, cur = big[20 : 20 + H, 20 : 20 + W], big[17 : 17 + H, 14 : 14 + W]  # content moves by (+6, +3)
    warper = Warper(FlowEstimator()(prev, cur))
    l_f, l_bf = forward_backward_labels(np.ascontiguousarray(labels[20 : 20 + H, 20 : 20 + W]), warper)
    mask = inconsistency_map(l_f, l_bf)
    assert mask[24:-24, 24:-24].mean() < 0.002
    assert mask[:, :5].all()  # the strip entering the frame has no source


def test_flow_discontinuity_flags_the_occluded_region():
    # an object (class 1) moving 8 px right over a static background; the flow behind its front edge
    # falls off over 8 px, as a smooth flow estimate does
    labels = np.zeros((H, W), np.uint8)
    labels[:, 160:] = 2
    labels[64:128, 100:164] = 1
    flow = np.zeros((H, W, 2), np.float32)
    flow[64:128, 100:164, 0] = 8
    flow[64:128, 164:172, 0] = np.linspace(8, 0, 8)
    mask = inconsistency_map(*forward_backward_labels(labels, Warper(flow)))
    rows, cols = np.nonzero(mask)
    assert mask.sum() >= 64
    assert rows.min() >= 64 and rows.max() < 128 and cols.min() >= 164 and cols.max() < 172


def test_dis_on_a_moving_object_flags_only_its_boundaries():
    background, obj = texture(H, W, 1), texture(64, 64, 2)
    frames, label_maps = [], []
    for x0 in (100, 110):  # the object moves 10 px right; the background is static
        frame = background.copy()
        frame[64:128, x0 : x0 + 64] = obj
        labels = np.zeros((H, W), np.uint8)
        labels[:, 160:] = 2
        labels[64:128, x0 : x0 + 64] = 1
        frames.append(frame)
        label_maps.append(labels)
    mask = inconsistency_map(*forward_backward_labels(label_maps[0], Warper(FlowEstimator()(*frames))))
    rows, cols = np.nonzero(mask)
    assert len(rows) >= 20
    assert rows.min() >= 56 and rows.max() < 136
    near_edges = ((cols >= 92) & (cols < 118)) | ((cols >= 156) & (cols < 182))  # left / right edges ± 8 px
    assert near_edges.all()
    assert 0 < inconsistent_fraction(mask) < 0.01


# ---- dilation and smoothing -------------------------------------------------------------------


def _reference_soften(mask: np.ndarray, k: int) -> np.ndarray:
    """Direct loops: max over the k×k window, then mean over the window's in-frame pixels."""
    h, w = mask.shape
    r = k // 2
    window = lambda a, y, x: a[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]  # noqa: E731
    dilated = np.array([[window(mask, y, x).max() for x in range(w)] for y in range(h)], np.float64)
    return np.array([[window(dilated, y, x).mean() for x in range(w)] for y in range(h)])


def test_isolated_pixel_is_dilated_then_box_smoothed():
    mask = np.zeros((21, 21), bool)
    mask[10, 10] = True
    soft = soften_mask(mask).numpy()
    assert soft[10, 10] == 1.0
    assert soft[10, 7] == pytest.approx(4 * 7 / 49)  # edge of the dilated 7×7 square
    assert soft[7, 7] == pytest.approx(4 * 4 / 49)  # its corner
    assert soft[16, 10] == pytest.approx(7 / 49)  # 6 px away: one row of the 7×7 window overlaps
    assert soft[17, 10] == 0.0 and soft[10, 17] == 0.0
    assert soft.sum() == pytest.approx(49.0)  # box smoothing of a 7×7 square away from borders keeps its mass


def test_soften_matches_a_direct_implementation_at_the_borders():
    mask = np.random.default_rng(3).random((12, 17)) < 0.05
    np.testing.assert_allclose(soften_mask(mask, 5, 5).numpy(), _reference_soften(mask, 5), atol=1e-6)


@pytest.mark.parametrize("mode", ["box", "gaussian"])
@pytest.mark.parametrize("dilation, smoothing", [(7, 7), (3, 5), (1, 9)])
def test_opencv_and_torch_softening_agree(mode, dilation, smoothing):
    mask = np.random.default_rng(dilation + smoothing).random((20, 27)) < 0.05
    on_cpu = soften_mask(mask, dilation, smoothing, mode)  # the OpenCV path
    in_torch = _soften_torch(torch.from_numpy(mask).float(), dilation, smoothing, mode)  # the GPU path, run on the CPU
    torch.testing.assert_close(on_cpu, in_torch, rtol=0, atol=1e-5)


def test_flagged_pixels_stay_fully_refined_with_any_kernels():
    mask = np.random.default_rng(4).random((30, 40)) < 0.1
    for dilation, smoothing, mode in [(7, 7, "box"), (3, 9, "box"), (1, 7, "gaussian"), (1, 1, "box")]:
        soft = soften_mask(mask, dilation, smoothing, mode)
        assert (soft[torch.from_numpy(mask)] == 1).all()
        assert ((soft >= 0) & (soft <= 1)).all()
    gauss = soften_mask(np.ones((9, 9), bool), 1, 7, "gaussian")
    torch.testing.assert_close(gauss, torch.ones(9, 9))


def test_soften_settings_errors():
    with pytest.raises(EVSConfigError, match="odd"):
        soften_mask(np.zeros((4, 4), bool), dilation=4)
    with pytest.raises(UnknownNameError, match="known IAM smoothings: box, gaussian"):
        soften_mask(np.zeros((4, 4), bool), mode="median")
    with pytest.raises(UnknownNameError):
        InconsistencyAttention(smoothing_mode="median")


# ---- eq. 3.4 ----------------------------------------------------------------------------------


def test_blend_is_eq_3_4():
    mask = torch.tensor([[0.0, 0.25], [1.0, 0.5]])
    p_refiner = torch.stack([torch.full((2, 2), 0.9), torch.full((2, 2), 0.1)])
    p_warped = torch.stack([torch.full((2, 2), 0.2), torch.full((2, 2), 0.8)])
    out = blend(mask, p_refiner, p_warped)
    expected_class0 = torch.tensor([[0.2, 0.25 * 0.9 + 0.75 * 0.2], [0.9, 0.55]])
    torch.testing.assert_close(out[0], expected_class0)
    torch.testing.assert_close(out.sum(0), torch.ones(2, 2))  # still a distribution


def test_blend_upsamples_a_half_resolution_refiner_output():
    p_refiner = torch.rand(1, 19, 4, 8)
    p_warped = torch.rand(1, 19, 8, 16)
    out = blend(torch.ones(8, 16), p_refiner, p_warped)
    assert out.shape == (1, 19, 8, 16)
    torch.testing.assert_close(
        out, torch.nn.functional.interpolate(p_refiner, size=(8, 16), mode="bilinear", align_corners=False)
    )
    with pytest.raises(EVSInputError, match="differ in size"):
        blend(torch.ones(4, 4), p_refiner, p_warped)
    with pytest.raises(EVSInputError, match="does not match"):
        blend(torch.ones(8, 16), torch.rand(18, 8, 16), p_warped[0])


def test_blend_of_a_warped_channels_last_tensor_with_a_network_output():
    p_refiner = torch.rand(5, 6, 7)
    p_warped = torch.rand(6, 7, 5).permute(2, 0, 1)  # the memory layout warp.py returns
    mask = torch.rand(6, 7)
    expected = mask * p_refiner + (1 - mask) * p_warped
    torch.testing.assert_close(blend(mask, p_refiner, p_warped), expected)


def test_iam_end_to_end_on_hand_made_maps():
    l_f = np.zeros((32, 32), np.uint8)
    l_bf = l_f.copy()
    l_bf[16, 16] = 1  # one inconsistent pixel
    l_f[0, :] = 255  # a row sampled from outside the frame
    p_warped = torch.zeros(3, 32, 32)
    p_warped[0] = 1.0  # warped prediction: class 0 everywhere (0 probabilities on the out-of-frame row)
    p_warped[:, 0] = 0.0
    p_refiner = torch.zeros(3, 32, 32)
    p_refiner[2] = 1.0  # the Refiner says class 2 everywhere
    result = InconsistencyAttention()(l_f, l_bf, p_refiner, p_warped)
    assert result.inconsistent_fraction == pytest.approx(33 / 1024)
    assert result.labels.dtype == np.uint8 and result.labels.shape == (32, 32)
    assert result.labels[16, 16] == 2 and (result.labels[0] == 2).all()  # refined where inconsistent
    assert result.labels[25, 5] == 0  # far from both: the warped prediction is kept
    assert result.mask[16, 16] == 1 and result.mask[25, 5] == 0
    assert result.probabilities.shape == (3, 32, 32)
