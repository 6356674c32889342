"""A segmentation checkpoint that does not fit its parameter set is one line saying what it is."""

from __future__ import annotations

import pytest
import torch

from ltr_ext.admin.model_constructor import model_constructor
from pytracking_ext.trackers.params import TrackerParams
from segmentation_plugins.evs.checkpoint_identity import identify
from segmentation_plugins.evs.models import build_icnet, build_refiner
from segmentation_plugins.evs.segmenter import EVSWeightsError, build_networks
from segmentation_plugins.lmanet import build_single_frame
from segmentation_plugins.lmanet.segmenter import LMANetWeightsError, build_segmenter

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _save_small_icnet(path):
    torch.save({"net": build_icnet("small", num_classes=11).state_dict()}, path)
    return path


def test_the_small_camvid_icnet_is_named_with_the_settings_that_load_it(tmp_path):
    path = _save_small_icnet(tmp_path / "icnet_small.pth.tar")
    params = TrackerParams(icnet_config="standard", num_classes=19, icnet_weights=str(path), refine=False)
    with pytest.raises(EVSWeightsError) as caught:
        build_networks(params)
    line = str(caught.value)
    assert "\n" not in line and len(line) < 400
    assert "is the small 11-class ICNet" in line and "--set icnet_config=small --set num_classes=11" in line


def test_an_icnet_file_given_as_refiner_weights_says_it_is_not_a_refiner(tmp_path):
    icnet = _save_small_icnet(tmp_path / "icnet_small.pth.tar")
    params = TrackerParams(icnet_config="small", num_classes=11, icnet_weights=str(icnet), refiner_weights=str(icnet))
    params.refine = True
    with pytest.raises(EVSWeightsError, match="refiner_weights: .* is the small 11-class ICNet, not a Refiner"):
        build_networks(params)


def test_identify_tells_configuration_and_class_count_apart():
    found = identify(build_refiner("standard", num_classes=7).state_dict(), "Refiner")
    assert (found.kind, found.config, found.num_classes) == ("Refiner", "standard", 7)
    assert identify({"weight": torch.zeros(1)}, "ICNet") is None


def test_a_memory_parameter_set_refuses_a_single_frame_checkpoint(tmp_path):
    net = model_constructor(build_single_frame)(backbone="erfnet", num_classes=11)
    path = tmp_path / "single.pth.tar"
    torch.save({"net": net.state_dict(), "constructor": net.constructor.to_dict()}, path)
    params = TrackerParams(net_path=str(path), num_classes=11, use_gpu=False, memory_size=3, param_name="lite0_camvid")
    with pytest.raises(LMANetWeightsError, match="is a single-frame network .* memory of 3 frames"):
        build_segmenter(params)
    single = TrackerParams(net_path=str(path), num_classes=11, use_gpu=False, memory_size=None)
    assert build_segmenter(single).streamer is None


def test_a_changed_memory_read_works_on_the_cpu_inference_copy_of_a_trained_network(tmp_path):
    """Regression: once the shared CPU inference copy has run (weights prepacked on first use) it
    cannot be deep-copied, so a segmenter with a changed window reads its own copy instead."""
    import numpy as np

    from segmentation_plugins.lmanet import build_lmanet

    net = model_constructor(build_lmanet)(backbone="efficientnet_lite0", memory_size=2, window=3, num_classes=5)
    path = tmp_path / "lmanet.pth.tar"
    torch.save({"net": net.state_dict(), "constructor": net.constructor.to_dict()}, path)
    shared = build_segmenter(TrackerParams(net_path=str(path), num_classes=5, use_gpu=False, memory_size=2))
    shared.segment(np.zeros((64, 96, 3), np.uint8))
    changed = build_segmenter(
        TrackerParams(net_path=str(path), num_classes=5, use_gpu=False, memory_size=2, window=5, attention="global")
    )
    assert (changed.net.window, changed.net.attention) == (5, "global") and changed.net is not shared.net
    assert shared.net.window == 3
