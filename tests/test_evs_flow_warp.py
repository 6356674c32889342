"""EVS flow and warps on generated frames: DIS settings and direction, eqs. 3.1-3.2 at several resolutions."""

import cv2
import numpy as np
import pytest
import torch

from pytracking_ext.errors import UnknownNameError
from segmentation_plugins.evs.errors import EVSConfigError, EVSInputError
from segmentation_plugins.evs.flow import FLOW_METHODS, FlowEstimator, create_flow_method, to_gray
from segmentation_plugins.evs.warp import Warper, from_blocks, resize_flow, to_blocks, warp_labels, warp_tensor

H, W = 192, 320
DX, DY = 6, 3  # content moves right and down from the previous to the current frame
MARGIN = 24  # DIS is only trusted away from the frame border


pytestmark = pytest.mark.usefixtures("one_cv2_thread")


def texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Multi-octave smooth noise as uint8: trackable at every scale."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w), np.float32)
    for s in (2, 4, 8, 16):
        noise = rng.standard_normal((h // s + 2, w // s + 2)).astype(np.float32)
        img += cv2.resize(noise, (w + 2 * s, h + 2 * s), interpolation=cv2.INTER_CUBIC)[s : s + h, s : s + w] * s**0.5
    return ((img - img.min()) / (img.max() - img.min()) * 255).astype(np.uint8)


def shifted_pair(array: np.ndarray, dx: int = DX, dy: int = DY, pad: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """(previous, current) crops of a larger array whose content moves by (+dx, +dy)."""
    h, w = array.shape[0] - 2 * pad, array.shape[1] - 2 * pad
    return array[pad : pad + h, pad : pad + w], array[pad - dy : pad - dy + h, pad - dx : pad - dx + w]


@pytest.fixture(scope="module")
def scene():
    big = texture(H + 40, W + 40)
    # labels: 5 classes from a blurred copy, so label boundaries follow image structure
    labels = (cv2.GaussianBlur(big, (0, 0), 3).astype(np.int32) * 5 // 256).astype(np.uint8)
    prev, cur = shifted_pair(big)
    lab_prev, lab_cur = shifted_pair(labels)
    return prev, cur, lab_prev, lab_cur


def constant_flow(h: int, w: int, dx: float, dy: float) -> np.ndarray:
    flow = np.empty((h, w, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return flow


# ---- flow ------------------------------------------------------------------------------------


def test_dis_uses_the_thesis_setting_which_equals_ultrafast():
    settings = create_flow_method("dis").settings()
    assert settings["finest_scale"] == 2
    assert settings["patch_size"] == 8
    assert settings["gradient_descent_iterations"] == 12
    assert settings["variational_refinement_iterations"] == 0
    assert settings == create_flow_method("dis_ultrafast").settings()
    assert create_flow_method("dis_medium").settings()["finest_scale"] == 1


@pytest.mark.parametrize("method", ["dis", "dis_fast", "farneback"])
def test_flow_recovers_a_known_shift_in_the_interior(scene, method):
    prev, cur, _, _ = scene
    flow = FlowEstimator(method)(prev, cur)
    assert flow.shape == (H, W, 2) and flow.dtype == np.float32
    inner = flow[MARGIN:-MARGIN, MARGIN:-MARGIN]
    assert np.median(inner[..., 0]) == pytest.approx(DX, abs=0.1)
    assert np.median(inner[..., 1]) == pytest.approx(DY, abs=0.1)
    assert np.mean(np.abs(inner - [DX, DY]).max(-1) > 0.5) < 0.01


def test_flow_direction_reverses_with_the_frame_order(scene):
    prev, cur, _, _ = scene
    backward = FlowEstimator()(cur, prev)[MARGIN:-MARGIN, MARGIN:-MARGIN]
    assert np.median(backward[..., 0]) == pytest.approx(-DX, abs=0.1)


def test_downscaled_flow_is_in_pixels_of_its_own_grid(scene):
    prev, cur, _, _ = scene
    estimator = FlowEstimator("dis", scale=0.5)
    assert estimator.prepare(prev).shape == (H // 2, W // 2)
    flow = estimator(cv2.cvtColor(prev, cv2.COLOR_GRAY2BGR), cv2.cvtColor(cur, cv2.COLOR_GRAY2BGR))
    assert flow.shape == (H // 2, W // 2, 2)
    inner = flow[MARGIN // 2 : -MARGIN // 2, MARGIN // 2 : -MARGIN // 2]
    assert np.median(inner[..., 0]) == pytest.approx(DX / 2, abs=0.15)
    assert np.median(inner[..., 1]) == pytest.approx(DY / 2, abs=0.15)


def test_dis_at_changing_sizes_keeps_one_object_per_size(scene):
    prev, cur, _, _ = scene
    method = create_flow_method("dis")
    method.calc(prev[:64, :96], cur[:64, :96])  # views: not contiguous
    assert method.calc(prev, cur).shape == (H, W, 2)  # a larger size after a smaller one
    assert len(method._by_size) == 2


def test_gray_conversion():
    bgr = np.random.default_rng(1).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    np.testing.assert_array_equal(to_gray(bgr), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    assert to_gray(bgr[..., 0]).shape == (8, 10)
    with pytest.raises(EVSInputError, match="uint8"):
        to_gray(bgr.astype(np.float32))
    with pytest.raises(EVSInputError, match="one size"):
        FlowEstimator().flow(bgr[..., 0], bgr[:4, :, 0])


def test_unknown_flow_method_lists_the_known_ones_on_one_line():
    with pytest.raises(UnknownNameError) as info:
        FlowEstimator("raft")
    message = str(info.value)
    assert "\n" not in message and "'raft'" in message
    for name in ("dis", "dis_ultrafast", "dis_fast", "dis_medium", "farneback"):
        assert name in message
    assert set(FLOW_METHODS.names()) == {"dis", "dis_ultrafast", "dis_fast", "dis_medium", "farneback"}
    with pytest.raises(EVSConfigError):
        FlowEstimator(scale=0)


# ---- warps ------------------------------------------------------------------------------------


def test_exact_flow_warp_shifts_labels_and_writes_ignore_outside():
    labels = np.random.default_rng(2).integers(0, 19, (40, 64), dtype=np.uint8)
    out = warp_labels(labels, constant_flow(40, 64, DX, DY))
    np.testing.assert_array_equal(out[DY:, DX:], labels[:-DY, :-DX])
    assert (out[:DY] == 255).all() and (out[:, :DX] == 255).all()
    back = warp_labels(labels, constant_flow(40, 64, DX, DY), backward=True)
    np.testing.assert_array_equal(back[:-DY, :-DX], labels[DY:, DX:])
    assert (back[-DY:] == 255).all() and (back[:, -DX:] == 255).all()
    replicated = warp_labels(labels, constant_flow(40, 64, DX, DY), border="replicate")
    np.testing.assert_array_equal(replicated[DY:, :DX], np.repeat(labels[:-DY, :1], DX, 1))


def test_dis_flow_warp_reproduces_the_shifted_labels(scene):
    prev, cur, lab_prev, lab_cur = scene
    out = warp_labels(lab_prev, FlowEstimator()(prev, cur))
    inner = (slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
    assert np.mean(out[inner] == lab_cur[inner]) > 0.995
    assert (out[:, : DX - 1] == 255).all() and (out[: DY - 1] == 255).all()  # sampled left of / above the frame
    assert not (out[MARGIN:, MARGIN:] == 255).any()


def test_warp_at_half_resolution_uses_the_halved_flow():
    flow = constant_flow(H, W, 8, 4)
    warper = Warper(flow)
    np.testing.assert_allclose(warper.flow_at((H // 2, W // 2)), constant_flow(H // 2, W // 2, 4, 2))
    # anisotropic: x and y scale with their own ratio
    np.testing.assert_allclose(warper.flow_at((H // 2, W // 4)), constant_flow(H // 2, W // 4, 2, 2))
    labels = np.random.default_rng(3).integers(0, 19, (H // 2, W // 2), dtype=np.uint8)
    out = warper.labels(labels)
    np.testing.assert_array_equal(out[2:, 4:], labels[:-2, :-4])
    assert (out[:2] == 255).all() and (out[:, :4] == 255).all()
    np.testing.assert_allclose(resize_flow(flow, (H, W)), flow)


def test_dis_flow_at_full_resolution_warps_half_resolution_labels(scene):
    prev, cur, lab_prev, lab_cur = scene

    def half(a):  # nearest downscaling by 2 of labels whose shift is even in x
        return a[::2, ::2]

    out = Warper(FlowEstimator()(prev, cur)).labels(np.ascontiguousarray(half(lab_prev)))
    inner = (slice(MARGIN // 2, -MARGIN // 2), slice(MARGIN // 2, -MARGIN // 2))
    # DY = 3 is odd: the half-resolution truth is itself off by half a pixel, hence the looser bound
    assert np.mean(out[inner] == half(lab_cur)[inner]) > 0.95


def test_relative_map_equals_the_absolute_map_of_eq_3_1():
    rng = np.random.default_rng(4)
    flow = rng.uniform(-5, 5, (30, 50, 2)).astype(np.float32)
    src = rng.integers(0, 19, (30, 50), dtype=np.uint8)
    gx, gy = np.meshgrid(np.arange(50, dtype=np.float32), np.arange(30, dtype=np.float32))
    expected = cv2.remap(
        src, gx - flow[..., 0], gy - flow[..., 1], cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=255
    )
    np.testing.assert_array_equal(warp_labels(src, flow), expected)


@pytest.mark.parametrize("channels", [19, 256, 300])
def test_tensor_warp_matches_per_channel_shift_with_zero_border(channels):
    x = torch.rand(1, channels, 16, 24)
    out = warp_tensor(x, constant_flow(64, 96, 8, 4))  # flow at 4x the tensor's resolution
    assert out.shape == x.shape and out.dtype == x.dtype
    torch.testing.assert_close(out[0, :, 1:, 2:], x[0, :, :-1, :-2], rtol=0, atol=0)
    assert (out[0, :, :1] == 0).all() and (out[0, :, :, :2] == 0).all()


def test_blocks_respect_the_remap_channel_limit():
    x = torch.rand(256, 8, 12)
    blocks = to_blocks(x)
    assert [b.shape for b in blocks] == [(8, 12, 128), (8, 12, 128)]
    assert all(b.flags["C_CONTIGUOUS"] for b in blocks)
    torch.testing.assert_close(from_blocks(blocks), x, rtol=0, atol=0)
    warper = Warper(constant_flow(8, 12, 1, 0))
    torch.testing.assert_close(from_blocks(warper.blocks(blocks)), warper.tensor(x), rtol=0, atol=0)
    big = np.random.default_rng(5).random((8, 12, 200), dtype=np.float32)
    np.testing.assert_array_equal(warper.array(big)[:, 1:], big[:, :-1])
    with pytest.raises(EVSInputError, match="128"):
        warper._remap(big, False, "nearest", "constant", 0.0)


@pytest.mark.parametrize("channels", [19, 256])
def test_chained_warps_reuse_the_channels_last_memory(channels):
    x = torch.rand(1, channels, 12, 16)
    warper = Warper(constant_flow(12, 16, 1, 0))
    once = warper.tensor(x)
    assert once.shape == x.shape and once.permute(0, 2, 3, 1).is_contiguous()  # H×W×C memory, no copy back
    blocks = to_blocks(once)
    assert [b.shape[2] for b in blocks] == ([19] if channels == 19 else [128, 128])
    if channels == 19:
        assert np.shares_memory(blocks[0], once.numpy())  # no transpose on the way in either
    twice = warper.tensor(once)
    torch.testing.assert_close(twice[..., 2:], x[..., :-2], rtol=0, atol=0)
    assert (twice[..., :2] == 0).all()


def test_bilinear_option_and_dtype_device_roundtrip():
    x = torch.rand(3, 10, 10, dtype=torch.float64)
    flow = constant_flow(10, 10, 0.5, 0)
    out = warp_tensor(x, flow, interpolation="bilinear")
    assert out.dtype == torch.float64 and out.shape == (3, 10, 10)
    torch.testing.assert_close(out[:, :, 1:], (x[:, :, 1:] + x[:, :, :-1]) / 2, rtol=1e-5, atol=1e-5)


def test_warp_input_errors_are_clear():
    warper = Warper(constant_flow(4, 4, 0, 0))
    with pytest.raises(EVSConfigError, match="known interpolations: bilinear, nearest"):
        warper.tensor(torch.rand(2, 4, 4), interpolation="cubic")
    with pytest.raises(EVSConfigError, match="known border modes"):
        warper.labels(np.zeros((4, 4), np.uint8), border="wrap")
    with pytest.raises(EVSInputError, match="uint8"):
        warper.labels(np.zeros((4, 4), np.int64))
    with pytest.raises(EVSInputError, match="one frame"):
        warper.tensor(torch.rand(2, 3, 4, 4))
    with pytest.raises(EVSInputError, match="H×W×2"):
        Warper(np.zeros((4, 4), np.float32))
