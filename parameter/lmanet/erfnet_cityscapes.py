"""ERFNet LMANet on Cityscapes as in the official release: S = 3, P = 21, 20 outputs, 512 x 1024.

Weights: ``lmanet_erfnet_cityscapes.pth`` under ``network_path`` (a checkpoint of
``run_training lmanet erfnet_cityscapes --set stage=2``, or the official state dict: its keys are ours).
"""

from parameter.lmanet import lmanet_parameters


def parameters():
    return lmanet_parameters(
        "lmanet_erfnet_cityscapes.pth",
        "cityscapes",
        20,
        (512, 1024),
        memory_size=3,
        constructor="segmentation_plugins.lmanet:build_lmanet",
        constructor_kwargs={"backbone": "erfnet", "memory_size": 3, "window": 21, "num_classes": 20},
        weights_hint=(
            "no Cityscapes LMANet ships with the package: train one with run_training lmanet erfnet_cityscapes "
            "(--set stage=1, then stage=2) or put the official lmanet_erfnet_cityscapes.pth under network_path"
        ),
    )
