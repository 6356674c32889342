"""EVS networks: ICNet shapes / aux outputs / gradients, and the Refiner on ICNet's own features."""

import numpy as np
import pytest
import torch

from pytracking_ext.errors import UnknownNameError
from segmentation_plugins.evs.errors import EVSConfigError, EVSInputError
from segmentation_plugins.evs.models import (
    CASCADE_WEIGHTS,
    IMAGE_MEAN_BGR,
    ICNetConfig,
    Refiner,
    build_icnet,
    build_refiner,
    cascade_loss,
    prepare_image,
)

TINY = dict(width=0.25, blocks=(1, 1, 1, 1))  # fast on two CPU cores


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_standard_configuration_has_the_released_channel_counts():
    net = build_icnet()
    assert net.cfg == ICNetConfig(num_classes=19, width=1.0, blocks=(3, 4, 6, 3), ppm_bins=(1, 2, 3, 6))
    assert net.feature_channels == 256
    assert net.trunk.conv3_1.increase[0].out_channels == 256
    assert net.low_branch.conv5[-1].increase[0].out_channels == 1024
    assert net.low_branch.conv5_4[0].out_channels == 256
    assert net.full_branch[-1][0].out_channels == 64
    assert net.cff_low.low[0].dilation == (2, 2) and net.cff_mid.high[0].kernel_size == (1, 1)
    assert net.classifier.in_channels == 128 and net.classifier.out_channels == 19
    assert len(net.trunk.conv2) == 3 and len(net.low_branch.conv3) == 3
    assert len(net.low_branch.conv4) == 6 and len(net.low_branch.conv5) == 3
    assert net.low_branch.conv4[0].conv[0].dilation == (2, 2) and net.low_branch.conv5[0].conv[0].dilation == (4, 4)
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 128), with_aux=False)
    assert out.logits.shape == (1, 19, 16, 32) and out.features.shape == (1, 256, 4, 8)


def test_small_configuration_is_lighter_and_width_scales_features():
    standard = sum(p.numel() for p in build_icnet().parameters())
    small = build_icnet("small")
    assert sum(p.numel() for p in small.parameters()) < standard / 4
    assert small.feature_channels == 128
    assert build_icnet(width=0.25).feature_channels == 64


@pytest.mark.parametrize("size", [(64, 128), (100, 150)])
def test_icnet_eval_shapes_without_aux(size):
    net = build_icnet(**TINY).eval()
    h, w = size
    with torch.no_grad():
        out = net(torch.randn(2, 3, h, w))
        full = net(torch.randn(1, 3, h, w), full_size=True)
    h8, w8 = -(-h // 8), -(-w // 8)
    assert out.logits.shape == (2, 19, 2 * h8, 2 * w8)
    assert out.features.shape == (2, 64, -(-h // 16), -(-w // 16))
    assert out.aux == ()
    assert full.logits.shape == (1, 19, h, w)
    assert torch.isfinite(out.logits).all()


def test_icnet_train_mode_has_cascade_outputs_and_all_weights_get_gradients():
    net = build_icnet(**TINY).train()
    image = torch.randn(2, 3, 64, 96)
    out = net(image)
    aux16, aux8 = out.aux
    assert aux16.shape == (2, 19, 4, 6) and aux8.shape == (2, 19, 8, 12) and out.logits.shape == (2, 19, 16, 24)
    target = torch.randint(0, 19, (2, 64, 96))
    target[:, :8] = 255
    loss = cascade_loss(out, target)
    assert torch.isfinite(loss)
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing
    assert CASCADE_WEIGHTS == (0.16, 0.4, 1.0)


def test_cascade_loss_weights_each_output():
    net = build_icnet(**TINY).train()
    out = net(torch.randn(1, 3, 64, 64))
    target = torch.randint(0, 19, (1, 64, 64))
    quarter = target[:, ::4, ::4]  # nearest downscaling by 4 picks every 4th pixel
    only_main = cascade_loss(out, target, weights=(0.0, 0.0, 1.0))
    assert torch.allclose(only_main, torch.nn.functional.cross_entropy(out.logits, quarter))
    only_aux16 = cascade_loss(out, target, weights=(1.0, 0.0, 0.0))
    assert torch.allclose(only_aux16, torch.nn.functional.cross_entropy(out.aux[0], target[:, ::16, ::16]))
    net.eval()
    with torch.no_grad():
        assert cascade_loss(net(torch.randn(1, 3, 64, 64)), target).ndim == 0  # main term only


def test_refiner_consumes_exactly_the_features_icnet_exposes():
    icnet = build_icnet(**TINY).eval()
    image = torch.randn(1, 3, 64, 128)
    refiner = Refiner.from_icnet(icnet)
    assert not refiner.training and not hasattr(refiner, "trunk")
    assert refiner.feature_channels == icnet.feature_channels
    with torch.no_grad():
        features = icnet.low_level(image)
        expected = icnet(image).logits
        got = refiner(image, features).logits
        also = icnet.high_level(image, features).logits
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    torch.testing.assert_close(also, expected, rtol=0, atol=0)


def test_refiner_trains_and_passes_gradients_to_the_warped_features():
    refiner = build_refiner(**TINY).train()
    image = torch.randn(2, 3, 64, 64)
    features = torch.randn(2, refiner.feature_channels, 4, 4, requires_grad=True)
    out = refiner(image, features)
    assert len(out.aux) == 2 and out.logits.shape == (2, 19, 16, 16)
    cascade_loss(out, torch.randint(0, 19, (2, 64, 64))).backward()
    assert features.grad is not None and features.grad.abs().sum() > 0
    assert all(p.grad is not None for p in refiner.parameters())


def test_refiner_rejects_features_of_the_wrong_shape():
    refiner = build_refiner(**TINY).eval()
    image = torch.randn(1, 3, 64, 64)
    with pytest.raises(EVSInputError, match="1/16"):
        refiner(image, torch.randn(1, 64, 8, 8))
    with pytest.raises(EVSInputError, match="N×64"):
        refiner(image, torch.randn(1, 32, 4, 4))


def test_refiner_with_pwarped_starts_as_icnet_and_requires_pwarped():
    icnet = build_icnet(**TINY).eval()
    refiner = Refiner.from_icnet(icnet, uses_pwarped=True)
    image = torch.randn(1, 3, 64, 64)
    p_warped = torch.softmax(torch.randn(1, 19, 16, 16), 1)
    with torch.no_grad():
        torch.testing.assert_close(refiner(image, icnet.low_level(image), p_warped).logits, icnet(image).logits)
    with pytest.raises(EVSInputError, match="p_warped"):
        refiner(image, icnet.low_level(image))


def test_prepare_image_subtracts_the_bgr_mean():
    image = np.zeros((4, 6, 3), np.uint8)
    image[..., 2] = 200
    x = prepare_image(image)
    assert x.shape == (1, 3, 4, 6) and x.dtype == torch.float32
    b, g, r = IMAGE_MEAN_BGR
    assert torch.allclose(x[0, :, 0, 0], torch.tensor([-b, -g, 200 - r]))
    with pytest.raises(EVSInputError):
        prepare_image(np.zeros((4, 6), np.uint8))


def test_configuration_errors_are_one_line():
    with pytest.raises(UnknownNameError, match="known ICNet configurations: small, standard"):
        build_icnet("huge")
    with pytest.raises(EVSConfigError, match="unknown ICNet setting"):
        build_icnet(depth=3)
    with pytest.raises(EVSConfigError, match="blocks"):
        build_icnet(blocks=(3, 0, 6, 3))
