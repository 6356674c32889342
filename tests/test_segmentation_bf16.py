"""LMANet and EVS in bf16: the networks in bf16, the fp32 islands, a bounded difference to fp32, the fallback.

Native bf16 is pretended (the CPU flags are patched), so these run on any CPU; PyTorch computes bf16
either way. The agreement bounds come from measurements. Here (random ERFNet LMANet, S = 2, P = 3; random small
ICNet + Refiner, evs01 / evs06; 64 x 128 frames) bf16 agreed with fp32 on 100 % (LMANet) and
>= 99.4 % (EVS) of the pixels of every frame. On six CamVid test frames at 240 x 320, an
EfficientNet-Lite0 LMANet (ImageNet encoder, random decoder: logits within +-0.2, so near-ties
everywhere) agreed on 93.0-94.6 % with the largest logit difference 0.0135 (the read in fp32 or in
bf16 made no measurable difference). The bounds below leave room above the worst of those.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from ltr_ext.admin.model_constructor import model_constructor
from parameter.evs import operating_point
from pytracking_ext.evaluation import precision
from pytracking_ext.trackers.params import TrackerParams
from segmentation_plugins.registry import build_segmenter

pytestmark = pytest.mark.usefixtures("one_torch_thread")

H, W = 64, 128
LMANET_AGREEMENT = 0.95
EVS_AGREEMENT = 0.95


@pytest.fixture
def native_bf16(monkeypatch):
    """Pretend the CPU does (True) or does not (False) compute bf16 natively."""

    def pretend(native: bool) -> None:
        precision.native_bf16.cache_clear()
        monkeypatch.setattr(precision, "cpu_flags", lambda *_: frozenset({"avx512_bf16"} if native else {"avx2"}))

    yield pretend
    precision.native_bf16.cache_clear()


def frames(count: int, seed: int = 0, step: int = 4) -> list[np.ndarray]:
    """A smooth textured scene panning right by ``step`` px per frame."""
    rng = np.random.default_rng(seed)
    noise = rng.random((H // 8 + 2, (W + step * count) // 8 + 2, 3)).astype(np.float32)
    big = cv2.resize(noise, (W + step * count + 16, H + 16), interpolation=cv2.INTER_CUBIC)[:H]
    big = (255 * (big - big.min()) / (big.max() - big.min())).astype(np.uint8)
    return [np.ascontiguousarray(big[:, step * t : step * t + W]) for t in range(count)]


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float((a == b).mean())


# ------------------------------------------------------------------------------------------ LMANet


@pytest.fixture(scope="module")
def lmanet_weights(tmp_path_factory):
    from segmentation_plugins.lmanet import build_lmanet, build_single_frame

    folder = tmp_path_factory.mktemp("lmanet")
    paths = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for name, builder, kwargs in (
            ("memory", build_lmanet, {"memory_size": 2, "window": 3}),
            ("single", build_single_frame, {}),
        ):
            net = model_constructor(builder)(backbone="erfnet", num_classes=11, **kwargs)
            paths[name] = folder / f"{name}.pth.tar"
            torch.save({"net": net.state_dict(), "constructor": net.constructor.to_dict()}, paths[name])
    return paths


def lmanet(path, precision_name: str, memory: bool = True):
    from segmentation_plugins.lmanet.segmenter import build_segmenter as build_lmanet_segmenter

    params = TrackerParams(
        net_path=str(path), num_classes=11, use_gpu=False, precision=precision_name, memory_size=2 if memory else None
    )
    return build_lmanet_segmenter(params)


def run_lmanet(segmenter, clip):
    return [segmenter.segment(frame) for frame in clip]


def test_lmanet_parameter_sets_default_to_fp32():
    from parameter.lmanet import lmanet_parameters
    from segmentation_plugins.lmanet.segmenter import network_spec

    params = lmanet_parameters("x.pth", "camvid", 11, None)
    assert params.precision == "fp32" and network_spec(params).precision == "fp32"
    params.precision = "auto"
    assert network_spec(params).precision == "auto"


def test_lmanet_bf16_keeps_the_memory_read_in_fp32(native_bf16, lmanet_weights):
    native_bf16(True)
    reference = lmanet(lmanet_weights["memory"], "fp32")
    fast = lmanet(lmanet_weights["memory"], "bf16")
    assert fast.dtype == torch.bfloat16 and fast.streamer.model is fast.net
    assert {p.dtype for p in fast.net.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in reference.net.parameters()} == {torch.float32}  # the cached network is untouched
    reads = []
    original = fast.net.read

    def spy(query_key, memory_keys, memory_values):
        reads.append((query_key.dtype, memory_keys.dtype, memory_values.dtype))
        out = original(query_key, memory_keys, memory_values)
        reads.append(out.dtype)
        return out

    fast.net.read = spy
    clip = frames(4)
    expected, got = run_lmanet(reference, clip), run_lmanet(fast, clip)
    assert reads[0] == (torch.float32,) * 3 and reads[1] == torch.float32 and len(reads) == 2 * len(clip)
    assert all(k.dtype == v.dtype == torch.float32 for k, v in zip(fast.streamer.keys, fast.streamer.values))
    for a, b in zip(expected, got):
        assert b.probabilities.dtype == torch.float32 and b.labels.dtype == np.uint8
        assert agreement(a.labels, b.labels) >= LMANET_AGREEMENT


def test_lmanet_single_frame_network_in_bf16(native_bf16, lmanet_weights):
    native_bf16(True)
    reference = lmanet(lmanet_weights["single"], "fp32", memory=False)
    fast = lmanet(lmanet_weights["single"], "auto", memory=False)
    assert fast.streamer is None and {p.dtype for p in fast.net.parameters()} == {torch.bfloat16}
    for a, b in zip(run_lmanet(reference, frames(2)), run_lmanet(fast, frames(2))):
        assert b.probabilities.dtype == torch.float32
        assert agreement(a.labels, b.labels) >= LMANET_AGREEMENT


def test_lmanet_auto_without_native_bf16_is_fp32_exactly(native_bf16, lmanet_weights):
    native_bf16(False)
    reference = lmanet(lmanet_weights["memory"], "fp32")
    auto = lmanet(lmanet_weights["memory"], "auto")
    assert auto.dtype == torch.float32 and {p.dtype for p in auto.net.parameters()} == {torch.float32}
    clip = frames(3)
    for a, b in zip(run_lmanet(reference, clip), run_lmanet(auto, clip)):
        np.testing.assert_array_equal(a.labels, b.labels)
        torch.testing.assert_close(a.probabilities, b.probabilities, rtol=0, atol=0)


# --------------------------------------------------------------------------------------------- EVS


def evs(name: str, precision_name: str):
    params = operating_point(name)
    for key, value in dict(
        icnet_config="small", use_gpu=False, random_weights=True, threaded=False, precision=precision_name
    ).items():
        setattr(params, key, value)
    return build_segmenter("evs", params)


def test_evs_declares_precision_once_as_a_segmenter_setting():
    from parameter.evs import SEGMENTER_SETTINGS
    from segmentation_plugins.evs.pipeline import PipelineConfig

    assert SEGMENTER_SETTINGS["precision"] == "fp32" and "precision" not in PipelineConfig.defaults()
    assert operating_point("evs01").precision == "fp32"


@pytest.mark.parametrize("name", ["evs01", "evs06"])  # key frames blended by the IAM; refined propagated frames
def test_evs_bf16_networks_with_fp32_propagation(native_bf16, name):
    native_bf16(True)
    reference, fast = evs(name, "fp32"), evs(name, "bf16")
    algorithm = fast.pipeline.algorithm
    assert algorithm.dtype == torch.bfloat16
    assert {p.dtype for p in algorithm.icnet.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in algorithm.refiner.parameters()} == {torch.bfloat16}
    results, checks = [], []
    for method in ("run_key", "run_refine"):
        original = getattr(algorithm, method)

        def spy(*args, _original=original, **kwargs):
            result = _original(*args, **kwargs)
            results.append((result.probabilities.dtype, result.features))
            return result

        setattr(algorithm, method, spy)
    check = algorithm.iam.check

    def iam_spy(labels, warper):
        checks.append(labels.dtype)
        return check(labels, warper)

    algorithm.iam.check = iam_spy
    clip = frames(6)
    expected, got = reference.segment_video(clip), fast.segment_video(clip)
    expected, got = list(expected), list(got)
    assert results and all(dtype == torch.float32 for dtype, _ in results)
    assert all(block.dtype == np.float32 for _, blocks in results if blocks is not None for block in blocks)
    assert checks and all(dtype == np.uint8 for dtype in checks)  # the IAM works on labels, in fp32 around
    assert any(o.info["refined"] or "inconsistent_fraction" in o.info for o in got)  # the IAM ran
    for a, b in zip(expected, got):
        assert b.probabilities.dtype == torch.float32 and b.labels.dtype == a.labels.dtype
        assert agreement(a.labels, b.labels) >= EVS_AGREEMENT


def test_evs_auto_without_native_bf16_is_fp32_exactly(native_bf16):
    native_bf16(False)
    reference, auto = evs("evs06", "fp32"), evs("evs06", "auto")
    assert auto.pipeline.algorithm.dtype == torch.float32
    clip = frames(5)
    for a, b in zip(reference.segment_video(clip), auto.segment_video(clip)):
        np.testing.assert_array_equal(a.labels, b.labels)
        torch.testing.assert_close(a.probabilities, b.probabilities, rtol=0, atol=0)
