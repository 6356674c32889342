"""The single-frame EfficientNet-Lite0 network LMANet is built on (CamVid, 320 x 240): the study's baseline.

Weights: ``segmentation_plugins/networks/lmanet_lite0_camvid_single.safetensors``, shipped (see
``segmentation_plugins/networks/MODELS.md``); ``--set net_path=...`` takes a checkpoint of
``run_training lmanet lite0_camvid`` (stage 0) instead.
"""

from parameter.lmanet import lmanet_parameters
from segmentation_plugins.shipped import LMANET_LITE0_CAMVID_SINGLE


def parameters():
    return lmanet_parameters(str(LMANET_LITE0_CAMVID_SINGLE), "camvid", 11, (240, 320), memory_size=None)
