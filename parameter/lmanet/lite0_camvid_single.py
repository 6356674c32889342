"""The single-frame EfficientNet-Lite0 network LMANet is built on (CamVid, 480 x 352): the study's baseline."""
from parameter.lmanet import lmanet_parameters


def parameters():
    return lmanet_parameters("lmanet_lite0_camvid_single.pth.tar", "camvid", 11, (352, 480), memory_size=None)
