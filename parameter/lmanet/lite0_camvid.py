"""EfficientNet-Lite0 LMANet trained on CamVid at 320 x 240 (S = 3, P = 21), shipped with the package.

Weights: ``segmentation_plugins/networks/lmanet_lite0_camvid.safetensors`` (how it was trained and
on what: ``segmentation_plugins/networks/MODELS.md``); ``--set net_path=...`` takes a checkpoint of
``run_training lmanet lite0_camvid --set stage=1|2`` instead.
"""

from parameter.lmanet import lmanet_parameters
from segmentation_plugins.shipped import LMANET_LITE0_CAMVID


def parameters():
    return lmanet_parameters(str(LMANET_LITE0_CAMVID), "camvid", 11, (240, 320), memory_size=3)
