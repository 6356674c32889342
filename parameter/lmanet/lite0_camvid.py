"""EfficientNet-Lite0 LMANet trained on CamVid at 320 x 240 (``run_training lmanet lite0_camvid``, stage 2)."""

from parameter.lmanet import lmanet_parameters


def parameters():
    return lmanet_parameters("lmanet_lite0_camvid.pth.tar", "camvid", 11, (240, 320), memory_size=3)
