"""EfficientNet-Lite0 LMANet trained on CamVid at 480 x 352 (``run_training lmanet lite0_camvid``, stage 2)."""
from parameter.lmanet import lmanet_parameters


def parameters():
    return lmanet_parameters("lmanet_lite0_camvid.pth.tar", "camvid", 11, (352, 480), memory_size=3)
