"""Network loading of the evaluation core: path resolution, the per-process cache, errors, its users."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn as nn

from ltr_ext.admin.model_constructor import model_constructor
from pytracking_ext.errors import PytrackingError
from pytracking_ext.evaluation import network_loading
from pytracking_ext.evaluation.network_loading import (
    NetworkNotFoundError,
    NetworkSpec,
    load_network,
    read_network,
    resolve_network_path,
    select_device,
)
from pytracking_ext.trackers.params import TrackerParams

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU())


def other_tiny_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU())


def save_weights(path, seed: int):
    torch.manual_seed(seed)
    torch.save(tiny_net().state_dict(), path)
    return path


@pytest.fixture
def network_dir(workspace, tmp_path, monkeypatch):
    folder = tmp_path / "networks"
    folder.mkdir()
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", str(folder))
    return folder


def test_relative_paths_resolve_against_the_network_path_setting(network_dir, tmp_path):
    assert NetworkSpec("sub/net.pth").resolve() == network_dir / "sub" / "net.pth"
    assert NetworkSpec(str(tmp_path / "abs.pth")).resolve() == tmp_path / "abs.pth"
    assert NetworkSpec("net.pth").resolve(tmp_path / "elsewhere") == tmp_path / "elsewhere" / "net.pth"
    assert resolve_network_path("net.pth") == network_dir / "net.pth"


def test_the_cache_returns_one_object_per_file_version_device_and_constructor(network_dir):
    path = save_weights(network_dir / "tiny.pth", seed=0)
    spec = NetworkSpec("tiny.pth", constructor=tiny_net, channels_last=False)
    first = load_network(spec, "cpu")
    assert load_network(NetworkSpec("tiny.pth", constructor=tiny_net, channels_last=False), "cpu") is first
    assert not first.training
    assert load_network(NetworkSpec("tiny.pth", constructor=other_tiny_net, channels_last=False), "cpu") is not first
    assert read_network(spec, "cpu") is not first  # the uncached reader always builds a new copy

    stat = path.stat()
    save_weights(path, seed=1)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a rewrite within one mtime tick
    fresh = load_network(spec, "cpu")
    assert fresh is not first
    assert not torch.equal(fresh[0].weight, first[0].weight)
    assert load_network(spec, "cpu") is fresh


def test_a_missing_file_is_one_line_naming_the_setting(network_dir):
    with pytest.raises(NetworkNotFoundError) as info:
        load_network(NetworkSpec("nowhere.pth"), "cpu")
    message = str(info.value)
    assert "\n" not in message and "network_path" in message and str(network_dir / "nowhere.pth") in message
    assert isinstance(info.value, PytrackingError) and isinstance(info.value, FileNotFoundError)
    with pytest.raises(NetworkNotFoundError, match="network_path"):
        read_network(NetworkSpec("nowhere.pth"), "cpu")


def test_select_device_falls_back_to_the_cpu():
    assert select_device(False) == torch.device("cpu")
    assert select_device(True) == torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture
def reads(monkeypatch):
    """Every checkpoint the core reads, as (path, device)."""
    seen = []
    original = network_loading._read

    def recording(spec, path, device):
        seen.append((path, str(device)))
        return original(spec, path, device)

    monkeypatch.setattr(network_loading, "_read", recording)
    return seen


def test_evs_loads_its_weights_through_the_core(network_dir, reads):
    from segmentation_plugins.evs.models import build_icnet
    from segmentation_plugins.evs.segmenter import build_networks

    torch.manual_seed(0)
    torch.save({"net": build_icnet("small", num_classes=11).state_dict(), "epoch": 1}, network_dir / "icnet.pth")
    params = TrackerParams(icnet_config="small", num_classes=11, icnet_weights="icnet.pth", refine=False)
    icnet, refiner = build_networks(params)
    assert reads == [(network_dir / "icnet.pth", "cpu")] and refiner is None and not icnet.training


def test_lmanet_loads_its_weights_through_the_core(network_dir, reads):
    from segmentation_plugins.lmanet import build_lmanet
    from segmentation_plugins.lmanet.segmenter import build_segmenter

    torch.manual_seed(0)
    net = model_constructor(build_lmanet)(backbone="erfnet", memory_size=2, window=3, num_classes=11)
    torch.save({"net": net.state_dict(), "constructor": net.constructor.to_dict()}, network_dir / "lmanet.pth.tar")
    params = TrackerParams(net_path="lmanet.pth.tar", num_classes=11, use_gpu=False)
    first, second = build_segmenter(params), build_segmenter(params)
    assert reads == [(network_dir / "lmanet.pth.tar", "cpu")]  # the second segmenter shares the cached network
    assert first.net is second.net


def test_lmanet_reading_overrides_never_change_the_shared_network(network_dir):
    from segmentation_plugins.lmanet import build_lmanet
    from segmentation_plugins.lmanet.segmenter import build_segmenter

    torch.manual_seed(0)
    net = model_constructor(build_lmanet)(backbone="erfnet", memory_size=2, window=3, num_classes=11)
    torch.save({"net": net.state_dict(), "constructor": net.constructor.to_dict()}, network_dir / "lmanet.pth.tar")
    trained = TrackerParams(net_path="lmanet.pth.tar", num_classes=11, use_gpu=False)
    ablation = TrackerParams(net_path="lmanet.pth.tar", num_classes=11, use_gpu=False, window=5, attention="global")
    first, changed, again = build_segmenter(trained), build_segmenter(ablation), build_segmenter(trained)
    assert (changed.net.window, changed.net.attention) == (5, "global")
    assert (first.net.window, again.net.window, first.net.attention) == (3, 3, net.attention)
    assert first.net is again.net and changed.net is not first.net
