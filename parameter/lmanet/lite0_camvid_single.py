"""The single-frame EfficientNet-Lite0 network LMANet is built on (CamVid, 320 x 240): the study's baseline."""

from parameter.lmanet import lmanet_parameters


def parameters():
    return lmanet_parameters("lmanet_lite0_camvid_single.pth.tar", "camvid", 11, (240, 320), memory_size=None)
