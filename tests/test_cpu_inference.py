"""Inference copies for the CPU: folded BatchNorms, prepacked oneDNN convolutions, fused ReLU/add."""

import pytest
import torch
import torch.nn as nn

from ltr_ext.models.backbone.resnet_mrcnn import ResNetMRCNN
from ltr_ext.models.cpu_inference import PrepackedConv2d, onednn_available, prepare_cpu_inference
from ltr_ext.models.fold_batchnorm import fold_batchnorm
from ltr_ext.models.rts.decoder import RTSDecoder

LAYERS = ["layer1", "layer2", "layer3", "layer4"]


def _randomize_batchnorms(model: nn.Module) -> nn.Module:
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    return model.eval()


def _small_resnet() -> ResNetMRCNN:
    torch.manual_seed(1)
    return _randomize_batchnorms(ResNetMRCNN((1, 1, 1, 1), LAYERS))


def test_folded_sequential_conv_bn_computes_the_same_function():
    torch.manual_seed(0)
    model = _randomize_batchnorms(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()))
    folded, count = fold_batchnorm(model)
    x = torch.randn(2, 3, 9, 11)
    assert count == 1 and isinstance(folded[1], nn.Identity)
    torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)


def test_folding_leaves_the_original_model_untouched():
    model = _small_resnet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fold_batchnorm(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_folding_folds_every_resnet_conv_bn_pair():
    _, count = fold_batchnorm(_small_resnet())
    assert count == 1 + 4 * 3 + 4  # stem, three per bottleneck, one per projection shortcut


def test_folding_refuses_a_model_in_training_mode():
    with pytest.raises(ValueError, match="eval mode"):
        fold_batchnorm(nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)).train())


@pytest.mark.parametrize("channels_last", [False, True])
def test_cpu_inference_resnet_returns_the_same_feature_maps(channels_last):
    model = _small_resnet()
    x = torch.randn(1, 3, 64, 96) * 50
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    fast = prepare_cpu_inference(model)
    with torch.no_grad():
        expected, got = model(x), fast(x)
    for name in LAYERS:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-4 * float(expected[name].abs().max()))


@pytest.mark.skipif(not onednn_available(), reason="this PyTorch build has no oneDNN convolution ops")
def test_cpu_inference_replaces_every_convolution():
    fast = prepare_cpu_inference(_small_resnet())
    assert not any(type(m) is nn.Conv2d for m in fast.modules())
    assert any(isinstance(m, PrepackedConv2d) and m.relu for m in fast.modules())


def test_cpu_inference_rts_decoder_returns_the_training_path_mask_logits():
    torch.manual_seed(0)
    channels = {"layer4": 32, "layer3": 24, "layer2": 16, "layer1": 8}
    widths = {"layer4": 16, "layer3": 8, "layer2": 8, "layer1": 8}
    decoder = _randomize_batchnorms(RTSDecoder(4, channels, widths))
    sizes = {"layer4": (3, 5), "layer3": (6, 10), "layer2": (12, 20), "layer1": (24, 40)}
    features = {name: torch.randn(1, c, *sizes[name]) for name, c in channels.items()}
    scores = torch.randn(1, 4, 6, 10)
    fast = prepare_cpu_inference(decoder)
    expected = decoder(scores, features, (96, 160)).detach()  # gradients on: the literal bicubic path
    with torch.no_grad():
        got = fast(scores, features, (96, 160))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))
    if onednn_available():
        assert any(type(m).__name__ == "FusedRRB" for m in fast.modules())


def test_prepacked_conv_with_gradients_on_falls_back_to_the_plain_convolution():
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, padding=1)
    x = torch.randn(1, 4, 8, 8, requires_grad=True)
    y = PrepackedConv2d(conv, relu=True)(x)
    y.sum().backward()
    torch.testing.assert_close(y, torch.relu(conv(x)))
    assert x.grad is not None


def test_folding_skips_conv_bn_names_of_modules_whose_data_flow_is_unknown():
    class Downsampler(nn.Module):  # ERFNet's: bn(cat(conv(x), pool(x))), so bn does not follow conv alone
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 13, 3, stride=2, padding=1)
            self.pool = nn.MaxPool2d(2, stride=2)
            self.bn = nn.BatchNorm2d(16)

        def forward(self, x):
            return self.bn(torch.cat([self.conv(x), self.pool(x)], 1))

    model = _randomize_batchnorms(Downsampler())
    folded, count = fold_batchnorm(model)
    x = torch.randn(1, 3, 8, 8)
    assert count == 0
    torch.testing.assert_close(folded(x), model(x))
