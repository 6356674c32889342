"""EVS 01 readings (S = 1 with W and R, keyframe_blend.py): the label each gives per pixel and what
each carries to the next frame, on constructed inputs and through the pipeline."""

import cv2
import numpy as np
import pytest
import torch

from parameter.evs import operating_point
from segmentation_plugins.evs.errors import EVSConfigError
from segmentation_plugins.evs.iam import InconsistencyAttention
from segmentation_plugins.evs.models import build_icnet, build_refiner
from segmentation_plugins.evs.pipeline import EVSPipeline, PipelineConfig
from segmentation_plugins.evs.pipeline.keyframe_blend import KEYFRAME_BLENDS, KeyframeInputs, blend_name

H, W, CLASSES = 8, 8, 4
BLOCK = (slice(2, 4), slice(5, 7))  # the pixels where L_F != L_BF

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def constant_probabilities(values: dict[int, float]) -> torch.Tensor:
    p = torch.zeros(CLASSES, H, W)
    for c, v in values.items():
        p[c] = v
    return p


def constructed_case():
    """A hard IAM mask (no dilation or smoothing): inconsistent exactly on BLOCK."""
    iam = InconsistencyAttention(dilation=1, smoothing=1)
    l_f = np.zeros((H, W), np.uint8)
    l_bf = l_f.copy()
    l_bf[BLOCK] = 1
    # ICNet(t) alone says class 2; P warped from t-1 says class 1; their mean says class 3
    p_key = constant_probabilities({2: 0.6, 3: 0.4})
    p_warped = constant_probabilities({1: 0.55, 3: 0.45})
    l_key = p_key.argmax(0).to(torch.uint8).numpy()
    return iam, l_f, l_bf, p_key, l_key, p_warped


def expected_labels(consistent: int, inconsistent: int) -> np.ndarray:
    labels = np.full((H, W), consistent, np.uint8)
    labels[BLOCK] = inconsistent
    return labels


@pytest.mark.parametrize("reading", ["chain", "fresh"])
def test_eq_3_4_readings_keep_the_warped_label_where_consistent_and_icnet_elsewhere(reading):
    out = KEYFRAME_BLENDS.get(reading)(KeyframeInputs(*constructed_case()))
    np.testing.assert_array_equal(out.labels, expected_labels(consistent=1, inconsistent=2))
    assert out.inconsistent_fraction == pytest.approx(4 / (H * W))


def test_chain_carries_the_blend_and_fresh_carries_icnet_own_output():
    case = constructed_case()
    chain = KEYFRAME_BLENDS.get("chain")(KeyframeInputs(*case))
    fresh = KEYFRAME_BLENDS.get("fresh")(KeyframeInputs(*case))
    np.testing.assert_array_equal(chain.state_labels, chain.labels)
    assert torch.equal(chain.state_probabilities, chain.probabilities)
    np.testing.assert_array_equal(fresh.state_labels, np.full((H, W), 2, np.uint8))
    assert torch.equal(fresh.state_probabilities, case[3])


def test_fresh_mean_averages_icnet_and_the_warped_p_where_consistent():
    case = constructed_case()
    out = KEYFRAME_BLENDS.get("fresh_mean")(KeyframeInputs(*case))
    # mean {1: .275, 2: .3, 3: .425} -> 3 where consistent; ICNet's 2 where inconsistent
    np.testing.assert_array_equal(out.labels, expected_labels(consistent=3, inconsistent=2))
    torch.testing.assert_close(out.probabilities[:, 0, 0], torch.tensor([0.0, 0.275, 0.3, 0.425]))
    np.testing.assert_array_equal(out.state_labels, case[4])


@pytest.mark.parametrize(
    "value, name", [(False, None), ("off", None), (True, "fresh"), ("chain", "chain"), ("fresh", "fresh")]
)
def test_setting_values_name_a_reading(value, name):
    assert blend_name(value) == name
    assert PipelineConfig(keyframe_interval=1, warp=True, refine=True, keyframe_blend=value).blend_reading == name


def test_evs01_parameter_set_uses_the_fresh_reading():
    assert PipelineConfig.from_params(operating_point("evs01")).blend_reading == "fresh"
    assert PipelineConfig.from_params(operating_point("evs02")).blend_reading is None


def test_unknown_reading_is_refused_in_one_line():
    with pytest.raises(EVSConfigError, match="unknown keyframe_blend 'fresher'; known: .*'fresh_mean'") as info:
        PipelineConfig(keyframe_interval=1, warp=True, refine=True, keyframe_blend="fresher")
    assert "\n" not in str(info.value)


def test_a_reading_needs_warp_and_refine():
    with pytest.raises(EVSConfigError, match="keyframe_blend needs warp=True and refine=True"):
        PipelineConfig(keyframe_interval=1, keyframe_blend="fresh")


def panning(count: int, step: int = 8) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    noise = rng.random((128 // 8 + 2, (256 + step * count) // 8 + 2, 3)).astype(np.float32)
    big = cv2.resize(noise, (noise.shape[1] * 8, noise.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    big = ((big - big.min()) / (big.max() - big.min()) * 255).astype(np.uint8)
    return [np.ascontiguousarray(big[:128, step * t : step * t + 256]) for t in range(count)]


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return build_icnet("small").eval(), build_refiner("small").eval()


@pytest.mark.parametrize("threaded", [True, False])
def test_fresh_pipeline_carries_icnet_labels_and_outputs_the_blend(nets, threaded):
    frames = panning(4)
    config = dict(keyframe_interval=1, warp=True, refine=True, output_upsampling="nearest", threaded=threaded)
    plain = EVSPipeline(nets[0], PipelineConfig(**config, keyframe_blend="off"), nets[1])
    icnet_labels = [o.probabilities.argmax(0).numpy() for o in plain.run(frames)]
    for reading in ("chain", "fresh"):
        pipeline = EVSPipeline(nets[0], PipelineConfig(**config, keyframe_blend=reading), nets[1])
        outputs = list(pipeline.run(frames))
        assert all(o.info["keyframe"] for o in outputs)
        assert all("inconsistent_fraction" in o.info for o in outputs[1:])
        last = outputs[-1].probabilities.argmax(0).numpy()
        carried = icnet_labels[-1] if reading == "fresh" else last
        np.testing.assert_array_equal(pipeline.state.labels, carried)
    # the fresh output at t blends ICNet(t) with ICNet(t-1) warped, so it differs from ICNet alone
    assert (last != icnet_labels[-1]).any()
