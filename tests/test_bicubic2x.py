"""Exact x2 bicubic kernels of the RTS decoder's inference path against F.interpolate."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_ext.models.rts.bicubic2x import bicubic_upsample2x, conv_of_bicubic_upsample2x


def _bicubic2x(x):
    return F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (1, 8, 12, 20)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_bicubic_upsample2x_equals_interpolate(shape, channels_last):
    torch.manual_seed(0)
    x = torch.randn(*shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(bicubic_upsample2x(x), _bicubic2x(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("channels_last", [False, True])
def test_bicubic_upsample2x_keeps_the_input_layout(channels_last):
    x = torch.randn(1, 8, 6, 10)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = bicubic_upsample2x(x)
    assert out.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


@pytest.mark.parametrize("shape", [(1, 4, 4, 4), (2, 6, 5, 9), (1, 3, 11, 7)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("channels_last", [False, True])
def test_fused_conv_equals_conv_of_interpolate_including_the_border(shape, bias, channels_last):
    torch.manual_seed(0)
    conv = nn.Conv2d(shape[1], 2, 3, padding=1, bias=bias)
    x = torch.randn(*shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        torch.testing.assert_close(conv_of_bicubic_upsample2x(x, conv), conv(_bicubic2x(x)), rtol=1e-5, atol=1e-5)


def test_fused_conv_falls_back_for_other_convolutions_and_tiny_maps():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 6, 6)
    for conv, inp in ((nn.Conv2d(3, 2, 5, padding=2), x), (nn.Conv2d(3, 2, 3, padding=1), x[..., :3, :3])):
        with torch.no_grad():
            torch.testing.assert_close(conv_of_bicubic_upsample2x(inp, conv), conv(_bicubic2x(inp)))
