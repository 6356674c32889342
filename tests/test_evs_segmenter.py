"""EVS segmenter: weights from parameter sets, the segmenter contract, the adaptive parameter set."""

import threading

import cv2
import numpy as np
import pytest
import torch

from parameter.evs import operating_point
from segmentation_plugins.evs.models import build_icnet, build_refiner
from segmentation_plugins.evs.segmenter import EVSSegmenter, EVSWeightsError
from segmentation_plugins.registry import build_segmenter, segmenter_parameter_names, segmenter_parameters

W, H = 256, 128


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def frames(count: int, seed: int = 0, step: int = 8) -> list[np.ndarray]:
    """A textured scene panning right by ``step`` px per frame."""
    rng = np.random.default_rng(seed)
    noise = rng.random((H // 8 + 2, (W + step * count) // 8 + 2, 3)).astype(np.float32)
    big = cv2.resize(noise, (W + step * count + 16, H + 16), interpolation=cv2.INTER_CUBIC)[:H]
    big = (255 * (big - big.min()) / (big.max() - big.min())).astype(np.uint8)
    return [np.ascontiguousarray(big[:, step * t : step * t + W]) for t in range(count)]


def params(name: str = "evs07", **overrides):
    """An operating point with the small 19-class networks and no weights named (tests set them)."""
    p = operating_point(name)
    p.icnet_config, p.num_classes, p.label_set = "small", 19, "cityscapes"
    p.icnet_weights = p.refiner_weights = None
    p.use_gpu = False
    for key, value in overrides.items():
        setattr(p, key, value)
    return p


def evs_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("evs-") and t.is_alive()]


def save_checkpoint(path, net):
    torch.save({"net": net.state_dict(), "epoch": 1}, path)  # what our LTR trainer writes (plus other fields)
    return path


def test_missing_weights_are_refused_with_one_line_naming_the_parameter():
    with pytest.raises(EVSWeightsError, match=r"set params\.icnet_weights") as info:
        build_segmenter("evs", params())
    assert "\n" not in str(info.value) and "random_weights" in str(info.value)


def test_missing_refiner_weights_are_refused(tmp_path):
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "icnet.pth.tar", build_icnet("small"))
    with pytest.raises(EVSWeightsError, match=r"evs06 uses the Refiner: set params\.refiner_weights") as info:
        build_segmenter("evs", params("evs06", icnet_weights=str(path)))
    assert "\n" not in str(info.value)
    segmenter = build_segmenter("evs", params("evs07", icnet_weights=str(path)))  # no Refiner needed
    assert segmenter.pipeline.refiner is None


def test_weights_load_strictly_from_paths_relative_to_network_path(workspace, monkeypatch, tmp_path):
    networks = tmp_path / "networks"
    networks.mkdir()
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(networks))
    torch.manual_seed(1)
    icnet, refiner = build_icnet("small"), build_refiner("small")
    save_checkpoint(networks / "icnet_small.pth.tar", icnet)
    save_checkpoint(networks / "refiner_small.pth.tar", refiner)
    segmenter = build_segmenter(
        "evs", params("evs06", icnet_weights="icnet_small.pth.tar", refiner_weights="refiner_small.pth.tar")
    )
    for loaded, saved in ((segmenter.pipeline.icnet, icnet), (segmenter.pipeline.refiner, refiner)):
        for key, value in saved.state_dict().items():
            torch.testing.assert_close(loaded.state_dict()[key], value)
    from_icnet = build_segmenter(
        "evs", params("evs06", icnet_weights="icnet_small.pth.tar", refiner_weights="from_icnet")
    )
    torch.testing.assert_close(from_icnet.pipeline.refiner.classifier.weight, icnet.classifier.weight)


def test_mismatched_or_absent_checkpoints_name_the_parameter_and_what_they_hold(tmp_path):
    torch.manual_seed(0)
    standard = save_checkpoint(tmp_path / "standard.pth.tar", build_icnet("standard"))
    with pytest.raises(
        EVSWeightsError, match=r"^icnet_weights: .*is the standard 19-class ICNet, .*--set icnet_config=standard"
    ) as info:
        build_segmenter("evs", params(icnet_weights=str(standard)))
    assert "\n" not in str(info.value)
    refiner_as_icnet = save_checkpoint(tmp_path / "refiner.pth.tar", build_refiner("small"))
    with pytest.raises(EVSWeightsError, match=r"is the small 19-class Refiner, not an ICNet"):
        build_segmenter("evs", params(icnet_weights=str(refiner_as_icnet)))
    unknown = save_checkpoint(tmp_path / "unknown.pth.tar", torch.nn.Conv2d(3, 2, 1))
    with pytest.raises(EVSWeightsError, match=r"^icnet_weights: .*does not fit ICNet: missing keys \(\d+\)"):
        build_segmenter("evs", params(icnet_weights=str(unknown)))
    with pytest.raises(EVSWeightsError, match=r"^icnet_weights: .*nowhere\.pth not found"):
        build_segmenter("evs", params(icnet_weights=str(tmp_path / "nowhere.pth")))


def test_segment_clip_resets_the_state():
    segmenter = build_segmenter("evs", params("evs06", random_weights=True))
    assert isinstance(segmenter, EVSSegmenter) and segmenter.num_classes == 19
    assert segmenter.device == torch.device("cpu")
    clip_a, clip_b = frames(5, seed=1), frames(5, seed=2)
    segmenter.segment_clip(clip_a)
    after_a = segmenter.segment_clip(clip_b)
    fresh = build_segmenter("evs", params("evs06", random_weights=True)).segment_clip(clip_b)
    np.testing.assert_array_equal(after_a.labels, fresh.labels)
    assert (
        after_a.info["frame_index"] == 4 and after_a.info["refined"]
    )  # the scored frame is refined (docs/evs.md §2.5)
    assert segmenter.state.frames == 5
    segmenter.close()


def test_timing_info_and_stats_through_the_segmenter():
    with build_segmenter("evs", params("evs07", random_weights=True)) as segmenter:
        outputs = list(segmenter.segment_video(frames(6)))
        assert [o.info["keyframe"] for o in outputs] == [True, False, False, False, False, True]
        assert all(o.info["latency_s"] > 0 for o in outputs)
        assert all(o.info["flow_s"] > 0 for o in outputs if not o.info["keyframe"])
        assert outputs[0].labels.shape == (H, W) and outputs[0].probabilities.shape == (19, H // 4, W // 4)
        assert segmenter.stats.frames == 6 and segmenter.stats.fps > 0
    assert not evs_threads()


def test_interrupt_inside_with_block_stops_threads():
    with pytest.raises(KeyboardInterrupt):
        with build_segmenter("evs", params("evs07", random_weights=True)) as segmenter:
            for t, _ in enumerate(segmenter.segment_video(frames(10))):
                if t == 1:
                    raise KeyboardInterrupt
    assert not evs_threads()


def test_random_weights_are_seeded_and_leave_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    a = build_segmenter("evs", params(random_weights=True))
    assert torch.equal(torch.rand(1), expected)
    b = build_segmenter("evs", params(random_weights=True))
    torch.testing.assert_close(a.pipeline.icnet.classifier.weight, b.pipeline.icnet.classifier.weight)


def test_adaptive_parameter_set():
    assert "evs_adaptive" in segmenter_parameter_names("evs")
    p = segmenter_parameters("evs", "evs_adaptive")
    assert (p.downscale, p.keyframe_interval, p.warp, p.refine) == (1.0, 10, True, False)
    assert p.adaptive_threshold == 0.05 and p.name == "evs_adaptive"
    p.icnet_config, p.random_weights, p.use_gpu = "small", True, False
    segmenter = build_segmenter("evs", p)
    assert segmenter.config.schedule.adaptive
    cut = frames(3, seed=1) + frames(3, seed=5)
    outputs = list(segmenter.segment_video(cut))
    assert [o.info["keyframe"] for o in outputs] == [True, False, False, True, False, False]
    assert outputs[3].info["forced_keyframe"]
